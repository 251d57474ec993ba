import CoxswainCore
import CoxswainServer
import Foundation
import Testing

/// deploy/systemd/coxswain.service, checked as systemd reads it.
@Suite("the systemd unit")
struct SystemdUnitTests {
    static let unit = Harness.repositoryRoot.appendingPathComponent("deploy/systemd/coxswain.service")
    static let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("systemd-analyze verify finds nothing to say (no unknown key, no bad value)")
    func verifies() async throws {
        let analyze = try #require(Self.analyze, "systemd-analyze is needed (apt-get install systemd)")
        // Verify also checks that ExecStart exists: point it at the binary the tests built.
        let text = try String(contentsOf: Self.unit, encoding: .utf8).replacingOccurrences(of: "/usr/local/bin/coxswain", with: CLITests.binary.path)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let copy = folder.appendingPathComponent("coxswain.service")
        try text.write(to: copy, atomically: true, encoding: .utf8)
        let output = try await CLITests.run(at: URL(fileURLWithPath: analyze), ["verify", copy.path])
        #expect(output.status == 0 && output.err.isEmpty && output.out.isEmpty, "\(output.out)\(output.err)")
    }

    @Test("systemd waits longer than the runbooks' longest helm timeout before it kills")
    func stopTimeout() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("TimeoutStopSec=") })
        let value = try #require(line.split(separator: "=").last.map(String.init))
        let stop = try #require(Int(value.replacingOccurrences(of: "min", with: "")).map { $0 * 60 })
        let runbooks = try ConfigurationFiles.runbooks(Harness.repositoryRoot.appendingPathComponent("commands").path)
        let longest = runbooks.all.flatMap(\.steps).compactMap { $0.timeout?.seconds }.max() ?? 0
        #expect(Double(stop) > longest + 60, "TimeoutStopSec \(stop)s, longest runbook timeout \(longest)s")
        #expect(text.contains("LoadCredential=signing-secret:") && !text.contains("Environment=SLACK_BOT_TOKEN="))
    }
}
