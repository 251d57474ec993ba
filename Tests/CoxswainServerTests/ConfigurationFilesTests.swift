import CoxswainCore
import CoxswainServer
import Foundation
import Testing

/// The files Coxswain reads at its edge, before Core parses their text.
@Suite struct ConfigurationFilesTests {
    @Test("a Slack secret may be a file named by NAME_FILE; an unreadable or empty one is named as the problem, never printed")
    func secretFiles() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        try "xoxb-from-file\n".write(to: file, atomically: true, encoding: .utf8)
        let secrets = try ConfigurationFiles.secrets(["SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN_FILE": file.path], mode: .http)
        #expect(secrets.botToken.reveal() == "xoxb-from-file")
        do {
            _ = try ConfigurationFiles.secrets(["SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN_FILE": "/nonexistent/token"], mode: .http)
            Issue.record("an unreadable secret file was accepted")
        } catch {
            #expect("\(error)" == "SLACK_BOT_TOKEN_FILE points at /nonexistent/token, which cannot be read")
        }
        try "\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: SlackSecrets.MissingSecret.self) {
            try ConfigurationFiles.secrets(["SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN_FILE": file.path], mode: .http)
        }
    }

    @Test("runbooks: every *.yaml of the folder; none, or one that cannot be read, names the folder or the file")
    func runbooks() throws {
        let set = try ConfigurationFiles.runbooks(Harness.repositoryRoot.appendingPathComponent("commands").path)
        #expect(set.all.map(\.command).sorted() == ["/rollback", "/upgrade"])
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("runbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(throws: RunbookError.self) { try ConfigurationFiles.runbooks(empty.path) }
        #expect(throws: ConfigurationError.self) { try ConfigurationFiles.configuration(empty.appendingPathComponent("missing.yaml").path) }
    }
}
