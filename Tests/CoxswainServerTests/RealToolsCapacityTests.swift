import CoxswainCore
import CoxswainSandbox
import Foundation
import Testing

/// GPU capacity before a change, against the sandbox with the real helm and kubectl: three GPUs,
/// two for production's pods and one taken by another model, so the chart's default rollout
/// (one extra pod, 25 % maxSurge of 2) has nowhere to put its surge.
@Suite("real helm and kubectl: GPU capacity before a change", .enabled(if: !RealTools.matrix.isEmpty))
struct RealToolsCapacityTests {
    static let release = "llama-2-7b-production"
    static let pool = [SandboxNode(name: "gpu-a", gpus: 2), SandboxNode(name: "gpu-b", gpus: 1)]

    /// Production at revision 2 (its upgrade used the spare GPU for its surge), then another model takes that GPU.
    static func fillThePool(_ world: SandboxWorld) async throws {
        try await world.setup.install(release, namespace: "production", versions: ["0.1.0", "0.2.0"])
        try await world.setup.helm([
            "install", "embedder", SandboxSetup.chartReference, "--version", "0.1.0", "-n", "staging", "--set", "replicaCount=1", "--wait", "--timeout", "60s",
        ])
    }

    @Test("a full GPU pool: the rollback stops before changing anything and says what it needs, what is free and what would fit", arguments: RealTools.matrix)
    func fullPoolStops(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair, nodes: Self.pool) { world in
            try await Self.fillThePool(world)
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                let job = try await h.runToEnd(Self.release)
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(text.contains("❌ Check GPU capacity"), "\(text)")
                let said = "the rollout will not fit: needs 1 more GPU during the rollout (1 extra pod × 1); 0 free; nothing was changed"
                #expect(text.contains(said), "\(text)")
                #expect(text.contains("capacity.when_short: neutral") && text.contains("serving capacity drops to 1 of 2 pods"), "\(text)")
                let history = try await RealToolsRollbackTests.history(world)
                #expect(history.count == 2 && history.last?["status"] as? String == "deployed", "helm was not touched: \(history)")
                #expect(try await h.registryStatus() != .disabled)
                let audit = try await h.database.entries(jobID: job.id).first { $0.event == "step.capacity.check.failed" }
                #expect(audit?.detail.contains("stopped (when_short: stop)") == true, "\(String(describing: audit))")
            }
        }
    }

    @Test("capacity.when_short: neutral: the approver reads it before approving; the rollback replaces one pod at a time, none Pending",
        arguments: RealTools.matrix)
    func neutralRollout(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair, nodes: Self.pool) { world in
            try await Self.fillThePool(world)
            try await world.coxswain(approvals: 1, access: RealToolsRollbackTests.access, timeouts: "60s", whenShort: "neutral") { h in
                let ack = try Harness.ephemeralText(try await h.command(Self.release))
                let id = try Harness.jobID(in: ack)
                try await h.waitFor(job: id, state: .awaitingApproval)
                let request = try #require(await h.world.slackCalls("chat.postMessage").first { $0.text.contains("Approval needed") })
                #expect(
                    request.text.contains("🟠 GPUs: needs 1 more GPU during the rollout (1 extra pod × 1); 0 free: it will not fit, "
                        + "so it rolls out capacity-neutral, one pod at a time: serving capacity drops to 1 of 2 pods"), "\(request.text)")
                _ = try await h.command("\(id)", command: "/approve", user: "U0789CAROL")
                let job = try await h.waitUntilSettled(job: id)
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .succeeded, "\(text)")
                #expect(text.contains("to revision 1, one pod at a time (capacity-neutral)"), "\(text)")
                let versions = try await RealToolsRolloutProgressTests.liveMessageVersions(h, job: job)
                #expect(!versions.contains { $0.contains("Pending") }, "no version of the live message showed a pod Pending: \(versions)")
                let history = try await RealToolsRollbackTests.history(world)
                #expect(history.last?["status"] as? String == "deployed" && history.last?["description"] as? String == "Rollback to 1", "\(history)")
                // The strategy is back as the chart wrote it (unset: Kubernetes' 25 %), and the Deployment runs.
                let deployment = try await world.setup.kubectl(["get", "deployment", Self.release, "-n", "production", "-o", "json"])
                let object = try #require(try JSONSerialization.jsonObject(with: Data(deployment.utf8)) as? [String: Any])
                let spec = try #require(object["spec"] as? [String: Any])
                #expect(spec["paused"] as? Bool != true, "\(spec)")
                #expect(((spec["strategy"] as? [String: Any])?["rollingUpdate"] as? [String: Any])?["maxSurge"] == nil, "\(spec)")
                #expect(try await h.registryStatus() == .ready)
            }
        }
    }

    @Test("neutral for an /upgrade (helm upgrade without its --wait, then kubectl) and a plain Deployment (kubectl rollout undo, never paused)",
        arguments: RealTools.matrix)
    func neutralUpgradeAndPlainDeployment(pair: RealTools.Pair) async throws {
        // Three GPUs: the plain Deployment's one pod and staging's two.
        try await SandboxWorld.run(pair, nodes: [SandboxNode(name: "gpu-a", gpus: 2), SandboxNode(name: "gpu-b", gpus: 1)]) { world in
            try await world.plainDeployment(images: ["vllm/semantic-router:0.1.0", "vllm/semantic-router:0.2.0"])
            try await world.setup.install("llama-2-7b-staging", namespace: "staging", versions: ["0.1.0"])
            try await world.coxswain(plainDeployment: true, access: RealToolsRollbackTests.access, timeouts: "60s", whenShort: "neutral") { h in
                let upgrade = try await h.runToEnd("llama-2-7b-staging 0.2.0", command: "/upgrade")
                let upgraded = try await h.liveMessageText(job: upgrade)
                #expect(upgrade.state == .succeeded && upgraded.contains("one pod at a time (capacity-neutral)"), "\(upgraded)")
                let rollback = try await h.runToEnd("semantic-router-dev 1", user: "U0123ALICE")
                let rolledBack = try await h.liveMessageText(job: rollback)
                #expect(rollback.state == .succeeded && rolledBack.contains("to revision 1, one pod at a time (capacity-neutral)"), "\(rolledBack)")
                for job in [upgrade, rollback] {
                    let versions = try await RealToolsRolloutProgressTests.liveMessageVersions(h, job: job)
                    #expect(!versions.contains { $0.contains("Pending") }, "\(versions)")
                }
                let router = try await world.setup.kubectl(["get", "deployment", "semantic-router", "-n", "development", "-o", "json"])
                #expect(router.contains("vllm/semantic-router:0.1.0") && !router.contains("\"paused\": true"), "\(router)")
            }
        }
    }
}
