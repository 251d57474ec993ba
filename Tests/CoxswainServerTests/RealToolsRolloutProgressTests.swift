import CoxswainCore
import CoxswainSandbox
import Foundation
import Testing

/// The wait for pods, followed: the live message shows where each new pod is while helm or
/// kubectl waits, and a rollout that cannot succeed ends when the pods show it, not at the
/// timeout. Against the sandbox with the real helm and kubectl, both pinned pairs.
@Suite("real helm and kubectl: rollout progress", .enabled(if: !RealTools.matrix.isEmpty))
struct RealToolsRolloutProgressTests {
    static let release = "llama-2-7b-staging"

    /// Every version of the job's live message Slack received, oldest first.
    static func liveMessageVersions(_ h: Harness, job: Job) async throws -> [String] {
        let ts = try await h.liveTS(job)
        let post = await h.world.slackCalls("chat.postMessage").first { $0.threadTS == nil && $0.text.contains("Job #\(job.id)") }
        let updates = await h.world.slackCalls("chat.update").filter { $0.ts == ts }
        return ([post].compactMap { $0 } + updates).map { Harness.unescape($0.text) }
    }

    @Test("an upgrade to an image that does not exist ends at ImagePullBackOff, minutes before helm's timeout, helm recording it failed",
        arguments: RealTools.matrix)
    func imagePullEndsEarly(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "staging", versions: ["0.1.0", "0.2.0"])
            try await world.coxswain(access: RealToolsRollbackTests.access, timeouts: "10m0s") { h in
                let started = ContinuousClock.now
                let job = try await h.runToEnd("\(Self.release) 0.5.0", command: "/upgrade")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(ContinuousClock.now - started < .seconds(60), "the job ended long before helm's 10m0s")
                #expect(text.contains("ended early: ImagePullBackOff"), "\(text)")
                #expect(text.contains("stopped helm upgrade before its 10m0s timeout"), "\(text)")
                #expect(text.contains("Back-off pulling image \"vllm/vllm-openai:0.7.0-missing\""), "\(text)")
                #expect(text.contains("Failed to pull image"), "the seed's hint for image pulls: \(text)")
                #expect(text.contains("Roll back to revision 2") || text.contains("rollback \(Self.release) 2"), "\(text)")
                let last = try #require(try await RealToolsRollbackTests.history(world, Self.release, namespace: "staging").last)
                #expect(last["status"] as? String == "failed", "helm, stopped with SIGTERM, marked the revision failed, not pending-upgrade")
                let audit = try await h.auditEvents(job: job.id)
                #expect(audit.contains("step.helm.upgrade.failed"), "\(audit)")
            }
        }
    }

    @Test("while new pods load their weights, the running step's line says so, and the job then succeeds", arguments: RealTools.matrix)
    func loadingShown(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair, timing: PodTiming(ready: .seconds(5), loading: .seconds(4))) { world in
            try await world.setup.install(Self.release, namespace: "staging", versions: ["0.1.0", "0.2.0"])
            // maxSurge 1 of 2 replicas: the pods are replaced one after the other, 5 s each.
            try await world.coxswain(access: RealToolsRollbackTests.access, timeouts: "40s") { h in
                let job = try await h.runToEnd("\(Self.release) 0.3.1", command: "/upgrade")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .succeeded, "\(text)")
                let versions = try await Self.liveMessageVersions(h, job: job)
                let loading = versions.first { $0.contains("⏳ Helm upgrade") && $0.contains("loading") }
                #expect(loading != nil, "no version of the live message showed the pods loading: \(versions.joined(separator: "\n---\n"))")
                #expect(loading?.contains("ready · pod ") == true, "\(loading ?? "")")
                #expect(!text.contains("loading"), "the finished step's line replaces the progress: \(text)")
            }
        }
    }

    @Test("a new pod no node can take ends the wait after unschedulable_after, with the scheduler's reason and the seed's GPU hint",
        arguments: RealTools.matrix)
    func unschedulableEndsPodWait(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.plainDeployment(images: ["vllm/semantic-router:0.1.0-nogpu", "vllm/semantic-router:0.2.0"], limits: "{ nvidia.com/gpu: 1 }")
            try await world.coxswain(plainDeployment: true, access: RealToolsRollbackTests.access, timeouts: "5m") { h in
                let job = try await h.runToEnd("semantic-router-dev 1", user: "U0123ALICE")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(text.contains("❌ Wait for pods") && text.contains("ended early: Pending"), "\(text)")
                #expect(text.contains("is Pending: 0/4 nodes are available: 4 Insufficient nvidia.com/gpu."), "\(text)")
                #expect(text.contains("usually no GPU capacity"), "the seed's hint: \(text)")
                let versions = try await Self.liveMessageVersions(h, job: job)
                #expect(versions.contains { $0.contains("⏳ Wait for pods · 0/1 new ready · pod ") && $0.contains("Pending: 0/4 nodes") }, "\(versions)")
            }
        }
    }

    @Test("kubectl's wait for a plain Deployment ends at OOMKilled with the memory limit, and the model stays out of the registry",
        arguments: RealTools.matrix)
    func oomEndsPodWait(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            // Revision 1 is killed for memory; revision 2 runs.
            try await world.plainDeployment(images: ["vllm/semantic-router:0.1.0-oom", "vllm/semantic-router:0.2.0"], limits: "{ memory: 16Gi }")
            try await world.coxswain(plainDeployment: true, access: RealToolsRollbackTests.access, timeouts: "5m") { h in
                let started = ContinuousClock.now
                let job = try await h.runToEnd("semantic-router-dev 1 back to the first build", user: "U0123ALICE")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(ContinuousClock.now - started < .seconds(60), "the wait ended long before its 5m")
                #expect(text.contains("❌ Wait for pods") && text.contains("ended early: OOMKilled"), "\(text)")
                #expect(text.contains("OOMKilled (memory limit 16Gi)"), "\(text)")
                #expect(text.contains("kubectl logs POD -n development --previous"), "the seed's hint: \(text)")
                #expect(try await h.database.entry(model: "semantic-router", environment: "development")?.status == .disabled)
            }
        }
    }
}
