import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// `/upgrade`: release channels, the promotion gate, the chart check, helm upgrade and its
/// failures with the seed's texts, the offered rollback.
@Suite("/upgrade end to end", .serialized)
struct UpgradeTests {
    static let production = "llama-2-7b-production"
    static let staging = "llama-2-7b-staging"
    static let chart = "oci://ghcr.io/vllm-project/charts/vllm-deployment"
    static let access = """
        roles:
          deployer: { grants: [rollback, upgrade, cancel], environments: [development, staging, production] }
          approver: { grants: [approve], environments: [staging, production] }
        members:
          U0123ALICE: [deployer, approver]
          U0456BOB: [deployer]
        """
    /// The same, for a harness without staging (and so without a promotion gate).
    static let accessWithoutStaging = access.replacingOccurrences(of: "development, staging, production", with: "development, production")
        .replacingOccurrences(of: "[staging, production]", with: "[production]")

    /// Both releases at chart 0.2.0 (revision 5 deployed in production, 2 in staging); the
    /// registry knows charts 0.2.0 and 0.3.0.
    static func cluster(productionUpgradeError: String? = nil, productionRevisions: [[String: Any]]? = nil) -> [String: Any] {
        var state = StandInCluster.standardRelease(revisions: productionRevisions)
        var releases = state["releases"] as! [String: Any]
        var production = releases[production] as! [String: Any]
        if let productionUpgradeError { production["upgrade_error"] = productionUpgradeError }
        production["pods_after_upgrade"] = production["pods_after_rollback"]
        releases[Self.production] = production
        releases[staging] = [
            "namespace": "staging",
            "revisions": [
                StandInCluster.revision(1, "superseded", chart: "vllm-deployment-0.1.0", app: "0.3.0"),
                StandInCluster.revision(2, "deployed", chart: "vllm-deployment-0.2.0", app: "0.4.1"),
            ],
            "pods_after_upgrade": [StandInCluster.pod("\(staging)-5d6f7-a1", release: staging, namespace: "staging", ready: true)],
        ]
        state["releases"] = releases
        state["charts"] = [chart: ["0.2.0", "0.3.0"]]
        return state
    }

    func upgrade(_ h: Harness, _ text: String, user: String = "U0123ALICE") async throws -> Job {
        try await h.runToEnd(text, command: "/upgrade", user: user)
    }

    @Test("staging first, then production: the gate passes and every call has the seed's flags")
    func goodUpgrade() async throws {
        try await Harness.run(cluster: Self.cluster(), access: Self.access, staging: true) { h in
            let first = try await upgrade(h, "\(Self.staging) v0.3.0 fixes routing timeouts")
            #expect(first.state == .succeeded)
            let callsBefore = try h.cluster.calls().count
            let job = try await upgrade(h, "\(Self.production) 0.3.0")
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            // The pods are also read before the change and while helm and kubectl wait.
            let podsRead = ["kubectl", "get", "pods", "-l", "app.kubernetes.io/instance=\(Self.production)", "-n", "production", "-o", "json"]
            #expect(try h.cluster.calls().dropFirst(callsBefore).contains(podsRead))
            #expect(
                Array(try h.cluster.calls().dropFirst(callsBefore)).filter { $0 != podsRead } == [
                    ["helm", "get", "metadata", Self.staging, "-n", "staging", "-o", "json"],
                    ["helm", "history", Self.production, "-n", "production", "-o", "json", "--max", "20"],
                    ["helm", "show", "chart", Self.chart, "--version", "0.3.0"],
                ] + RollbackEndToEndTests.capacityReads(Self.production) + [
                    [
                        "helm", "upgrade", Self.production, Self.chart, "--version", "0.3.0", "-n", "production", "--reset-then-reuse-values",
                        "--wait", "--timeout", "10m0s", "-f", "values-production.yaml",
                    ],
                    [
                        "kubectl", "wait", "--for=condition=Ready", "pod", "-l", "app.kubernetes.io/instance=\(Self.production)", "-n", "production",
                        "--timeout=300s",
                    ],
                    ["helm", "status", Self.production, "-n", "production", "-o", "json"],
                ])
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("upgrade llama-2-7b-production (production, ns production): revision 5 -> 0.3.0"))
            #expect(text.contains("✅ Promotion gate — ") && text.contains(" · 0.3.0 validated in staging"))
            #expect(
                text.contains(
                    "*Result:* upgraded `llama-2-7b-production` from revision 5 (vllm-deployment-0.3.0, app 0.5.1) to chart version 0.3.0; helm "
                        + "recorded it as revision 6."
                ))
            #expect(try await h.registryStatus() == .ready)
        }
    }

    @Test("each release channel is refused where the environment does not accept it")
    func refusedChannels() async throws {
        try await Harness.run(cluster: Self.cluster(), access: Self.access, staging: true) { h in
            let nightly = try await upgrade(h, "\(Self.production) nightly-20260115")
            #expect(nightly.state == .failed)
            let text = try await h.liveMessageText(job: nightly)
            #expect(text.contains("`nightly-20260115` is a nightly build; `production` accepts versioned only."))
            #expect(text.contains("GitHub Releases page"))
            let latest = try await upgrade(h, "\(Self.staging) latest")
            #expect(try await h.liveMessageText(job: latest).contains("`latest` is a latest build; `staging` accepts versioned, nightly only."))
            #expect(try h.cluster.calls().isEmpty)
            let bad = try Harness.ephemeralText(try await h.command("\(Self.production) 0.3", command: "/upgrade"))
            #expect(bad.contains("is not a version Coxswain accepts"))
        }
    }

    @Test("the promotion gate refuses a version staging has not validated; an approver's override is audited")
    func promotionGate() async throws {
        try await Harness.run(cluster: Self.cluster(), access: Self.access, staging: true) { h in
            let refused = try await upgrade(h, "\(Self.production) 0.3.0")
            #expect(refused.state == .failed)
            let text = try await h.liveMessageText(job: refused)
            #expect(text.contains("promotion gate: `llama-2-7b-staging` in staging runs chart version 0.2.0 (deployed), not 0.3.0"))
            #expect(text.contains("--override-promotion REASON"))
            #expect(!(try h.cluster.calls().contains { $0.prefix(2) == ["helm", "upgrade"] }))

            let bob = try Harness.ephemeralText(
                try await h.command("\(Self.production) 0.3.0 --override-promotion hotfix", command: "/upgrade", user: "U0456BOB"))
            #expect(bob.contains("Only an approver for `production` may use `--override-promotion`"))
            let noReason = try Harness.ephemeralText(try await h.command("\(Self.production) 0.3.0 --override-promotion", command: "/upgrade"))
            #expect(noReason.contains("needs a reason"))

            let overridden = try await upgrade(h, "\(Self.production) 0.3.0 --override-promotion staging cluster is down, hotfix")
            #expect(overridden.state == .succeeded)
            #expect(try await h.liveMessageText(job: overridden).contains(" · overridden by U0123ALICE"))
            let events = try await h.database.entries(jobID: overridden.id)
            #expect(events.contains { $0.event == "promotion.override" && $0.detail.contains("staging cluster is down, hotfix") })
            #expect(events.contains { $0.event == "step.promotion.gate.succeeded" && $0.detail.contains("overridden by U0123ALICE") })
        }
    }

    @Test("a chart version that does not exist is reported as such, not as an upgrade failure")
    func chartNotFound() async throws {
        try await Harness.run(cluster: Self.cluster(), access: Self.accessWithoutStaging) { h in
            let job = try await upgrade(h, "\(Self.production) 0.9.9")
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Chart version exists"))
            #expect(text.contains("chart version not found: \(Self.chart) has no version 0.9.9"))
            #expect(text.contains("failed to perform \"FetchReference\" on source: ghcr.io/vllm-project/charts/vllm-deployment:0.9.9: not found"))
            #expect(!(try h.cluster.calls().contains { $0.prefix(2) == ["helm", "upgrade"] }))
            #expect(!(await h.world.slackCalls("chat.postMessage").contains { $0.text.contains("Roll `") }))
        }
    }

    /// The seed's helm failures, with the state helm is in when it prints each.
    static var stuck: [[String: Any]] {
        (1...5).map { StandInCluster.revision($0, $0 == 5 ? "deployed" : "superseded") }
            + [StandInCluster.revision(6, "pending-upgrade", description: "Preparing upgrade")]
    }
    static var neverDeployed: [[String: Any]] { [StandInCluster.revision(1, "failed", description: "Install failed")] }

    @Test(
        "helm's failure texts get their own advice and, where it helps, a one-click rollback that works",
        arguments: [
            ("another operation (install/upgrade/rollback) is in progress", "pending state. A rollback clears it", 0),
            ("\"llama-2-7b-production\" has no deployed releases", "has no deployed revision to upgrade", 1),
            ("context deadline exceeded", "marked the new revision failed after `--wait` ran out", 2),
        ])
    func helmFailures(error: String, advice: String, scenario: Int) async throws {
        let revisions: [[String: Any]]? = scenario == 0 ? Self.stuck : scenario == 1 ? Self.neverDeployed : nil
        try await Harness.run(cluster: Self.cluster(productionUpgradeError: error, productionRevisions: revisions), access: Self.accessWithoutStaging) { h in
            let job = try await upgrade(h, "\(Self.production) 0.3.0")
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Helm upgrade"))
            #expect(text.contains(advice), "\(text)")
            #expect(text.contains("Error: UPGRADE FAILED:"))
            let offer = await h.world.slackCalls("chat.postMessage").first { $0.text.contains("Roll `\(Self.production)` back to revision") }
            guard scenario != 1 else {
                #expect(offer == nil)
                #expect(text.contains("No earlier revision was ever deployed successfully"))
                return
            }
            #expect(offer?.text.contains("back to revision 5") == true)
            #expect(offer?.channel == "C0OPS")
            _ = try await h.click("rollback", value: "\(job.id):\(Self.production):5", user: "U0123ALICE")
            let rollbackID = try await h.waitForNewJob(after: job.id)
            let rollback = try await h.waitUntilSettled(job: rollbackID)
            #expect(rollback.request.command == "/rollback")
            #expect(rollback.request.revision == 5)
            #expect(rollback.request.reason == "after failed job #\(job.id)")
            #expect(rollback.state == .succeeded, "\(rollback.outcome ?? "")")
            #expect(try h.cluster.calls().contains { $0.prefix(4) == ["helm", "rollback", Self.production, "5"] })
        }
    }
}

extension Harness {
    func waitForNewJob(after id: Int64, timeout: Duration = .seconds(10)) async throws -> Int64 {
        try await Eventually.value("a job after #\(id)", timeout: timeout) {
            try await database.recentJobs(release: nil, limit: 1).first.flatMap { $0.id > id ? $0.id : nil }
        }
    }
}
