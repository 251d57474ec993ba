import CoxswainCore
import CoxswainSandbox
import Foundation
import Testing

/// The rollback runbook against the sandbox cluster with the real helm and kubectl, for both
/// pinned pairs (helm 3.17.2 + kubectl 1.32.3, helm 4.1.4 + kubectl 1.35.2).
@Suite("real helm and kubectl: rollbacks", .enabled(if: !RealTools.matrix.isEmpty))
struct RealToolsRollbackTests {
    static let release = "llama-2-7b-production"
    static let access = """
        roles:
          deployer: { grants: [rollback, upgrade, cancel], environments: [development, staging, production] }
          oncall: { grants: [emergency], environments: [production] }
          approver: { grants: [approve], environments: [production] }
        members: { U0123ALICE: [deployer, oncall], U0789CAROL: [approver] }
        """

    static func history(_ world: SandboxWorld, _ release: String = release, namespace: String = "production") async throws -> [[String: Any]] {
        let json = try await world.setup.helm(["history", release, "-n", namespace, "-o", "json"])
        return try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
    }

    @Test("after a failed upgrade, /rollback goes to the last good revision, validated, model re-enabled", arguments: RealTools.matrix)
    func rollbackAfterFailedUpgrade(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "production", versions: ["0.1.0", "0.2.0", "0.3.0"])
            try await world.coxswain(access: Self.access) { h in
                let job = try await h.runToEnd("\(Self.release) pods crash after 0.3.0")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .succeeded, "\(text)")
                #expect(text.contains("revision 3 -> 2"), "\(text)")
                let last = try #require(try await Self.history(world).last)
                #expect(
                    last["description"] as? String == "Rollback to 2" && last["status"] as? String == "deployed" && last["app_version"] as? String == "0.4.1")
                #expect(try await h.registryStatus() == .ready)
                #expect(text.contains("✅ Completion test"), "\(text)")
            }
        }
    }

    @Test("a rollback whose pods never become ready: helm's own error, the pods' reason, the model left disabled", arguments: RealTools.matrix)
    func podsNeverReady(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            // Revision 2's image does not exist (helm marked it failed); rolling back to it by name.
            try await world.setup.install(Self.release, namespace: "production", versions: ["0.1.0", "0.5.0", "0.2.0"])
            try await world.coxswain(access: Self.access) { h in
                let job = try await h.runToEnd("\(Self.release) 2 -- try the older image")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(text.contains("ImagePullBackOff"), "\(text)")
                #expect(text.contains("context deadline exceeded"), "\(text)")
                #expect(try await h.registryStatus() == .disabled, "the model must stay out of traffic")
            }
        }
    }

    @Test("break-glass: helm rollback without waiting (no deprecation warning in helm 4), then pods and health are watched", arguments: RealTools.matrix)
    func breakGlass(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "production", versions: ["0.1.0", "0.2.0", "0.4.0"])
            try await world.coxswain(approvals: 1, access: Self.access) { h in
                let job = try await h.runToEnd("\(Self.release) --emergency completions take 4 s")
                let text = try await h.liveMessageText(job: job)
                let thread = await h.world.slackCalls("chat.postMessage").map(\.text).joined(separator: "\n---\n")
                #expect(job.state == .succeeded, "\(text)\n\(thread)")
                #expect(!text.lowercased().contains("deprecated"), "\(text)")
                let last = try #require(try await Self.history(world).last)
                #expect(last["description"] as? String == "Rollback to 2" && last["app_version"] as? String == "0.4.1")
                #expect(try await h.auditEvents(job: job.id).contains("emergency.invoked"))
            }
        }
    }

    @Test("a plain Deployment is rolled back with kubectl rollout undo", arguments: RealTools.matrix)
    func plainDeployment(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.plainDeployment(images: ["vllm/semantic-router:0.1.0", "vllm/semantic-router:0.2.0-slow"])
            try await world.coxswain(plainDeployment: true, access: Self.access) { h in
                let job = try await h.runToEnd("semantic-router-dev completions too slow", user: "U0123ALICE")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .succeeded, "\(text)")
                let deployment = try await world.setup.kubectl(["get", "deployment", "semantic-router", "-n", "development", "-o", "json"])
                #expect(deployment.contains("vllm/semantic-router:0.1.0"), "\(deployment)")
                #expect(try await h.registryStatus(environment: "development") == .ready)
            }
        }
    }
}
