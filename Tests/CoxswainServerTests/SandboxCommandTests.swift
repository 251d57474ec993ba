import CoxswainSandbox
import Foundation
import Testing

/// `coxswain sandbox` as a newcomer uses it: started as a real process, typed into, read from.
@Suite("coxswain sandbox", .enabled(if: !RealTools.matrix.isEmpty))
struct SandboxCommandTests {
    @Test("the welcome says what to type; a production rollback is requested, approved by the second identity, run by the real helm, validated, re-enabled")
    func productionRollbackInTheSandbox() async throws {
        let pair = try #require(RealTools.matrix.last)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-sandbox-cli-\(UUID().uuidString)")
        let path = pair.tools.helm.deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let sandbox = try ConsoleProcess.start(
            ["sandbox", "--folder", folder.path, "--repository", Harness.repositoryRoot.path], environment: ["PATH": path])
        let welcome = try await sandbox.waitFor("Ctrl-D leaves.", timeout: .seconds(120))
        #expect(welcome.contains("rollback llama-2-7b-production"))
        sandbox.type("status llama-2-7b-production")
        try await sandbox.waitFor("helm: revision 4 deployed (vllm-deployment-0.4.0, app 0.6.0-slow)")
        sandbox.type("rollback llama-2-7b-production completions over the 3 s SLO")
        let asked = try await sandbox.waitFor("Waiting for approval")
        let id = try Harness.jobID(in: asked)
        #expect(asked.contains("0 free: it will not fit, so it rolls out capacity-neutral, one pod at a time"), "\(asked)")

        // The second identity, exactly as the welcome tells a person to start it.
        let line = try #require(welcome.split(separator: "\n").first { $0.contains(" shell --as \(SandboxScenario.approverID)") })
        let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ").map(String.init)
        let approver = try ConsoleProcess.start(Array(words.dropFirst()))
        try await approver.waitFor("Coxswain console as @\(SandboxScenario.approverID)")
        approver.type("approve \(id)")
        try await approver.waitFor("Job #\(id) is approved")

        let done = try await sandbox.waitFor("Result: rolled back", timeout: .seconds(90))
        #expect(done.contains("✅ Helm rollback") && done.contains("✅ Completion test") && done.contains("✅ Re-enable model in registry"), "\(done)")
        #expect(done.contains("one pod at a time (capacity-neutral)"), "\(done)")
        sandbox.type("history llama-2-7b-production")
        try await sandbox.waitFor("Rollback to 2")
        _ = try await approver.close()
        #expect(try await sandbox.close() == 0, "\(sandbox.output)")
    }
}
