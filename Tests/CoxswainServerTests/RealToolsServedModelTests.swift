import CoxswainCore
import CoxswainSandbox
import Foundation
import Testing

/// `probe.models` against the sandbox with the real helm and kubectl: the model server of the
/// pods a rollback brought back is asked what it serves (`GET /v1/models`).
@Suite("real helm and kubectl: the served model", .enabled(if: !RealTools.matrix.isEmpty))
struct RealToolsServedModelTests {
    static let release = RealToolsRollbackTests.release

    @Test("a rollback to a revision whose values named other weights: healthy pods, and the job stops at the served model", arguments: RealTools.matrix)
    func rollbackToOtherWeights(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            // Revision 2 was deployed with another model by mistake; revision 3 crashes.
            try await world.setup.install(Self.release, namespace: "production", versions: ["0.1.0"])
            let upgrade = ["upgrade", Self.release, SandboxSetup.chartReference, "-n", "production", "--reset-then-reuse-values"]
            try await world.setup.helm(upgrade + ["--version", "0.2.0", "--set", "model=llama-2-13b", "--wait", "--timeout", "60s"])
            try await world.setup.helm(upgrade + ["--version", "0.3.0", "--set", "model=llama-2-7b", "--wait", "--timeout", "2s"], allowFailure: true)
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                let job = try await h.runToEnd("\(Self.release) pods crash after 0.3.0")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(text.contains("revision 3 -> 2") && text.contains("✅ Health endpoints"), "\(text)")
                #expect(text.contains("❌ Served model") && text.contains("the server serves `llama-2-13b`, not `llama-2-7b`"), "\(text)")
                #expect(!text.contains("✅ Completion test"), "\(text)")
                #expect(try await h.registryStatus() == .disabled)
            }
        }
    }
}
