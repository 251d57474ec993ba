import CoxswainCore
import Foundation
import Testing

/// `probe.models`: after the pods are ready, the model server must serve the model the release
/// is configured for (and its max_model_len, where configured), or the job stops with both.
@Suite struct ServedModelTests {
    static let release = "llama-2-7b-production"

    @Test("pods serving other weights fail the job at the served-model step, both names said, the model left disabled, no completion asked")
    func otherWeights() async throws {
        try await Harness.run { h in
            await h.world.set(servedModels: [("llama-2-13b", 4096)])
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("❌ Served model"), "\(text)")
            #expect(text.contains("failed at step “Served model”: the server serves `llama-2-13b`, not `llama-2-7b`"), "\(text)")
            #expect(text.contains("· wrong model"), "\(text)")
            #expect(try await h.registryStatus() == .disabled)
            #expect(!(await h.world.modelCalls().contains("/model/v1/completions")))
            let audit = try await h.database.entries(jobID: job.id).map(\.detail)
            #expect(audit.contains { $0.contains("/v1/models") && $0.contains("llama-2-13b") }, "\(audit)")
        }
    }

    @Test("a release configured with max_model_len: checked, and shown when it matches")
    func contextLength() async throws {
        let configured: @Sendable (Int) -> @Sendable (Int) -> String = { length in
            { port in
                Harness.configurationYAML(fakePort: port, completionSLO: nil, approvals: 0, access: Harness.legacyUsers)
                    .replacingOccurrences(of: "    ready_endpoint: true\n", with: "    ready_endpoint: true\n    max_model_len: \(length)\n")
            }
        }
        try await Harness.run(configuration: configured(4096)) { h in
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .succeeded)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("✅ Served model") && text.contains("· llama-2-7b (max_model_len 4096)"), "\(text)")
        }
        try await Harness.run(configuration: configured(8192)) { h in
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .failed)
            #expect(try await h.liveMessageText(job: job).contains("`llama-2-7b` is served with max_model_len 4096, but the release expects 8192"))
        }
    }
}
