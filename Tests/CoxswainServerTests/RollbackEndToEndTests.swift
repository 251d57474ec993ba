import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// `/rollback` from a signed Slack command to a validated, audited rollback, over real
/// HTTP, with helm/kubectl stand-ins and a fake Slack + model server.
@Suite("/rollback end to end", .serialized)
struct RollbackEndToEndTests {
    static let release = "llama-2-7b-production"
    static let selector = "app.kubernetes.io/instance=llama-2-7b-production"
    static let history = ["helm", "history", release, "-n", "production", "-o", "json", "--max", "20"]
    /// The capacity check's three reads: the release's Deployments, the nodes, every pod on a node.
    static func capacityReads(_ release: String = release, namespace: String = "production", deployment: String? = nil) -> [[String]] {
        [
            ["kubectl", "get", "deployments"]
                + (deployment.map { ["--field-selector", "metadata.name=\($0)"] } ?? ["-l", "app.kubernetes.io/instance=\(release)"])
                + ["-n", namespace, "-o", "json"],
            ["kubectl", "get", "nodes", "-o", "json"],
            ["kubectl", "get", "pods", "-A", "--field-selector", "status.phase!=Succeeded,status.phase!=Failed", "-o", "json"],
        ]
    }

    @Test("a rollback runs every step, validates and re-enables the model")
    func successfulRollback() async throws {
        try await Harness.run { h in
            let response = try await h.command("\(Self.release) pods OOM after upgrade")
            #expect(response.status == .ok)
            let ack = try Harness.ephemeralText(response)
            #expect(ack.contains("rollback llama-2-7b-production (production, ns production)"))
            let id = try Harness.jobID(in: ack)
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded)
            #expect(job.request.reason == "pods OOM after upgrade")

            // Revision 4 failed, so the target is 3, not helm's blind "5 minus one".
            // Besides these, the pods are read before the change and while helm and kubectl wait.
            let podsRead = ["kubectl", "get", "pods", "-l", Self.selector, "-n", "production", "-o", "json"]
            #expect(try h.cluster.calls().contains(podsRead))
            #expect(
                try h.cluster.calls().filter { $0 != podsRead } == [Self.history] + Self.capacityReads() + [
                    ["helm", "rollback", Self.release, "3", "-n", "production", "--wait", "--timeout", "10m0s"],
                    [
                        "kubectl", "annotate", "deployment", "-l", Self.selector, "-n", "production",
                        "coxswain.dev/rollback-reason=pods OOM after upgrade (coxswain job #\(id) by U0123ALICE)", "--overwrite",
                    ],
                    ["kubectl", "wait", "--for=condition=Ready", "pod", "-l", Self.selector, "-n", "production", "--timeout=300s"],
                    ["helm", "status", Self.release, "-n", "production", "-o", "json"],
                ])
            #expect(await h.world.modelCalls() == ["/model/health", "/model/ready", "/model/v1/models", "/model/v1/completions"])
            let completion = try #require(await h.world.received.first { $0.path == "/model/v1/completions" })
            #expect(completion.json["model"] as? String == "llama-2-7b")
            #expect(completion.json["prompt"] as? String == "Hello, how are you?")
            #expect(completion.json["max_tokens"] as? Double == 10)
            #expect(completion.json["temperature"] as? Double == 0.7)

            // One live message in the channel, updated in place, details in its thread.
            let posts = await h.world.slackCalls("chat.postMessage")
            #expect(posts.allSatisfy { $0.authorization == "Bearer xoxb-fake" })
            let live = posts.filter { $0.channel == "C0OPS" && $0.threadTS == nil }
            #expect(live.count == 1)
            let ts = try #require(try await h.liveTS(job))
            let updates = await h.world.slackCalls("chat.update")
            #expect(!updates.isEmpty && updates.allSatisfy { $0.ts == ts && $0.channel == "C0OPS" })
            let final = try await h.liveMessageText(job: job)
            for title in [
                "Show release history", "Confirm rollback target", "Disable model in registry", "Helm rollback",
                "Wait for pods", "Health endpoints", "Completion test", "Re-enable model in registry", "Verify release and registry",
            ] {
                #expect(final.contains("✅ \(title)"), "step \(title) not shown as done in: \(final)")
            }
            #expect(final.contains("revision 5 -> 3"))
            #expect(
                final.contains(
                    "*Result:* rolled back `llama-2-7b-production` from revision 5 (vllm-deployment-0.3.0, app 0.5.1) to revision 3 "
                        + "(vllm-deployment-0.2.0, app 0.4.1)"
                ))
            #expect(final.contains("*Validation:* pods 2/2 ready"))
            #expect(final.contains("/health 200"))
            #expect(final.contains("*Total time:*"))
            let thread = posts.filter { $0.threadTS == ts }.map(\.text)
            #expect(thread.contains { $0.contains("helm history") && $0.contains("5  deployed") })
            #expect(thread.contains { $0.contains("Wait for pods: pods") && $0.contains("llama-2-7b-production-7b8f9d5c-x7k2m  1/1") })
            #expect(thread.contains { $0.contains("Rollback was a success! Happy Helming!") })
            #expect(thread.contains { $0.contains("Health endpoints: probes") && $0.contains("/model/health 200 in") && $0.contains("/model/ready 200 in") })
            #expect(thread.contains { $0.contains("Completion test: completion") && $0.contains("I am doing well") })

            // The requester hears the exact plan; the audit channel gets one line.
            let ephemeral = await h.world.responseURLCalls().map(\.text)
            #expect(ephemeral.contains { $0.contains("plan: rollback llama-2-7b-production (production, ns production): revision 5 -> 3") })
            let auditLines = posts.filter { $0.channel == "C0AUDIT" }.map { Harness.unescape($0.text) }
            #expect(auditLines.count == 1)
            #expect(
                auditLines.first?.contains("Job #\(id) rollback llama-2-7b-production (production, ns production): revision 5 -> 3 by <@U0123ALICE>: succeeded")
                    == true)

            // Disabled during the rollback, ready after it; all of it in the audit trail.
            #expect(try await h.registryStatus() == .ready)
            let events = try await h.auditEvents(job: id)
            #expect(
                events == [
                    "job.requested", "access.allowed", "job.started", "step.helm.history.succeeded", "plan.decided", "step.capacity.check.succeeded",
                    "step.gitops.check.succeeded",
                    "step.confirm.succeeded", "registry.disable", "step.registry.disable.succeeded", "step.helm.rollback.succeeded",
                    "step.pods.wait.succeeded", "step.probe.health.succeeded", "step.probe.models.succeeded", "step.probe.completion.succeeded",
                    "registry.enable", "step.registry.enable.succeeded", "step.verify.succeeded", "job.succeeded",
                ])
        }
    }

    @Test("a forged signature gets 401 and leaves nothing behind")
    func badSignature() async throws {
        try await Harness.run { h in
            let response = try await h.command(Self.release, signingSecret: "not-the-secret")
            #expect(response.status == .unauthorized)
            try await Self.expectNothingStored(h)
        }
    }

    @Test("a replayed request older than five minutes gets 401")
    func staleTimestamp() async throws {
        try await Harness.run { h in
            let response = try await h.command(Self.release, timestamp: Int(Date().timeIntervalSince1970) - 301)
            #expect(response.status == .unauthorized)
            try await Self.expectNothingStored(h)
        }
    }

    @Test("a release Coxswain does not know is refused with the ones it knows")
    func unknownRelease() async throws {
        try await Harness.run { h in
            let text = try Harness.ephemeralText(try await h.command("llama-70b-production"))
            #expect(text.contains("does not know a release `llama-70b-production`"))
            #expect(text.contains("llama-2-7b-development, llama-2-7b-production"))
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
            #expect(try h.cluster.calls().isEmpty)
            #expect(try await h.database.tail(limit: 5).map(\.event) == ["request.refused"])
        }
    }

    @Test("a user not listed for the release's environment is refused")
    func userNotAllowed() async throws {
        try await Harness.run { h in
            let text = try Harness.ephemeralText(try await h.command(Self.release, user: "U0456BOB"))
            #expect(text.contains("may not rollback in `production`"))
            #expect(text.contains("Your roles: users:U0456BOB (cancel, rollback in development)"))
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
            #expect(try await h.database.tail(limit: 5).map(\.event) == ["access.refused"])
            #expect(try await h.registryStatus() == .ready)
        }
    }

    @Test("a release helm does not have fails at the history step, untouched")
    func releaseMissingInCluster() async throws {
        try await Harness.run(cluster: ["releases": [:], "pods": []]) { h in
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Show release history"))
            #expect(text.contains("helm says: Error: release: not found"))
            #expect(text.contains("helm has no release `llama-2-7b-production` in namespace `production`"))
            #expect(text.contains("Releases Coxswain knows: llama-2-7b-development"))
            #expect(text.contains("*Registry:* unchanged"))
            #expect(try h.cluster.calls() == [Self.history])
            #expect(try await h.registryStatus() == .ready)
        }
    }

    @Test("a release at its first revision is refused before anything is touched")
    func onlyOneRevision() async throws {
        let state = StandInCluster.standardRelease(revisions: [StandInCluster.revision(1, "deployed", description: "Install complete")])
        try await Harness.run(cluster: state) { h in
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .failed)
            #expect(try await h.liveMessageText(job: job).contains("already at the first revision; fix forward with an upgrade"))
            #expect(try h.cluster.calls() == [Self.history])
            #expect(try await h.registryStatus() == .ready)
        }
    }

    @Test("a target revision that does not exist is refused with the ones that do")
    func targetMissing() async throws {
        try await Harness.run { h in
            let job = try await h.runToEnd("\(Self.release) 9")
            #expect(job.state == .failed)
            #expect(try await h.liveMessageText(job: job).contains("has no revision 9. Revisions that exist: 1, 2, 3, 4, 5"))
            #expect(try h.cluster.calls() == [Self.history])
            #expect(try await h.registryStatus() == .ready)
        }
    }

    @Test("a new pod whose image cannot be pulled ends kubectl's wait at once: the job fails there, the model kept disabled")
    func imagePullEndsWait() async throws {
        let stuck = [
            StandInCluster.pod(
                "llama-2-7b-production-7b8f9d5c-x7k2m", release: Self.release, namespace: "production",
                ready: false, reason: "ImagePullBackOff")
        ]
        var state = StandInCluster.standardRelease(podsAfterRollback: stuck)
        // kubectl wait holds until this file exists, which it never does: only the early end can stop it.
        state["wait_gate"] = FileManager.default.temporaryDirectory.appendingPathComponent("never-\(UUID().uuidString)").path
        try await Harness.run(cluster: state) { h in
            let job = try await h.runToEnd("\(Self.release) 2")
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Wait for pods") && text.contains("ended early: ImagePullBackOff"), "\(text)")
            #expect(text.contains("ended the wait before its 5m0s timeout: pod llama-2-7b-production-7b8f9d5c-x7k2m: ImagePullBackOff"), "\(text)")
            #expect(text.contains("the image or tag may not exist"))
            #expect(text.contains("`llama-2-7b` stays *disabled* in production"))
            #expect(await h.world.modelCalls().isEmpty)
            #expect(try await h.registryStatus() == .disabled)
        }
    }

    @Test("pods that never get ready fail the job and keep the model disabled")
    func podsNeverReady() async throws {
        let stuck = [
            StandInCluster.pod(
                "llama-2-7b-production-7b8f9d5c-x7k2m", release: Self.release, namespace: "production",
                ready: false, reason: "Pending")
        ]
        try await Harness.run(cluster: StandInCluster.standardRelease(podsAfterRollback: stuck)) { h in
            let job = try await h.runToEnd("\(Self.release) 2")
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Wait for pods"))
            #expect(text.contains("pods not ready within 5m0s: 0/1 ready, Pending"), "\(text)")
            #expect(text.contains("usually no GPU capacity"))
            #expect(text.contains("`llama-2-7b` stays *disabled* in production"))
            #expect(
                try h.cluster.calls().map { Array($0.prefix(2)) }.filter { $0 != ["kubectl", "get"] }
                    == [["helm", "history"], ["helm", "rollback"], ["kubectl", "wait"]])
            #expect(try h.cluster.calls().contains(["helm", "rollback", Self.release, "2", "-n", "production", "--wait", "--timeout", "10m0s"]))
            #expect(await h.world.modelCalls().isEmpty)
            #expect(try await h.registryStatus() == .disabled)
            let liveTS = try await h.liveTS(job)
            let thread = await h.world.slackCalls("chat.postMessage").filter { $0.threadTS != nil && $0.threadTS == liveTS }.map(\.text)
            #expect(thread.contains { $0.contains("error: timed out waiting for the condition on pods/llama-2-7b-production-7b8f9d5c-x7k2m") })
        }
    }

    @Test("a completion slower than the SLO fails the job and keeps the model disabled")
    func completionOverSLO() async throws {
        try await Harness.run(completionSLO: "300ms") { h in
            await h.world.set(completionDelay: .milliseconds(700))
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Completion test"))
            #expect(text.contains("over the 300ms SLO"))
            #expect(try await h.registryStatus() == .disabled)
            #expect(try h.cluster.calls().last?.prefix(2) == ["kubectl", "get"])  // verify never ran
        }
    }

    @Test("a helm rollback error is reported with helm's text and the model stays disabled")
    func helmError() async throws {
        try await Harness.run(cluster: StandInCluster.standardRelease(rollbackError: "context deadline exceeded")) { h in
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Helm rollback"))
            #expect(text.contains("Error: release llama-2-7b-production failed: context deadline exceeded"))
            #expect(text.contains("helm history llama-2-7b-production -n production"))
            // history, capacity, the pods before the change, rollback (its wait followed), then the pods (helm's deadline says nothing of why).
            let calls = try h.cluster.calls().map { Array($0.prefix(3)) }
            #expect(calls.first == ["helm", "history", Self.release] && calls.last == ["kubectl", "get", "pods"], "\(calls)")
            let others = calls.filter { $0 != ["kubectl", "get", "pods"] }
            #expect(
                others == [
                    ["helm", "history", Self.release], ["kubectl", "get", "deployments"], ["kubectl", "get", "nodes"], ["helm", "rollback", Self.release],
                ],
                "\(calls)")
            #expect(text.contains("pods: 0/1 ready"), "\(text)")
            #expect(try await h.registryStatus() == .disabled)
            #expect(try await h.auditEvents(job: job.id).suffix(2) == ["step.helm.rollback.failed", "job.failed"])
        }
    }

    static func expectNothingStored(_ h: Harness) async throws {
        #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
        #expect(try await h.database.tail(limit: 5).isEmpty)
        #expect(try await h.database.notices().isEmpty)
        #expect(try h.cluster.calls().isEmpty)
    }
}

/// Issue 13: a burst of steps costs one edit per edit interval, not one per step.
@Suite struct LiveMessagePacingTests {
    @Test("steps that end within the edit interval are shown by one edit; the last edit shows the result")
    func editsArePaced() async throws {
        try await Harness.run(editInterval: "1s") { h in
            let job = try await h.runToEnd("llama-2-7b-production")
            #expect(job.state == .succeeded)
            let final = try await h.liveMessageText(job: job)
            for title in ["Helm rollback", "Completion test", "Verify release and registry"] {
                #expect(final.contains("✅ \(title)"), "step \(title) not shown as done in: \(final)")
            }
            let ts = try #require(try await h.liveTS(job))
            let edits = await h.world.slackCalls("chat.update").filter { $0.ts == ts }
            // Nine steps that each start and end: about eighteen versions of the message unpaced.
            // No edit at all is right too: on a loaded machine the request can come before the
            // notifier holds the lease, and the first post then already shows the result.
            #expect(edits.count < 9, "\(edits.count) edits for one job")
            for (earlier, later) in zip(edits, edits.dropFirst()) {
                #expect(later.at - earlier.at >= .milliseconds(900), "two edits \(later.at - earlier.at) apart")
            }
        }
    }
}
