import CoxswainChat
import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// Console tokens expire, can be revoked, are written to a file only their owner can read
/// and are never shown again: each checked against the running server, which answers 401
/// to a token that is no longer valid and 503 when it cannot read the tokens at all.
@Suite("console tokens", .serialized)
struct ConsoleTokenTests {
    /// `coxswain run` as `user` with the token in `file`: its exit status and what it printed.
    static func run(_ user: String, tokenFile: String, h: Harness) async throws -> CLITests.Run {
        let port = try await Eventually.value("the operators' listener") { h.operatorPort }
        return try await CLITests.run(["run", "help", "--as", user, "--token-file", tokenFile, "--server", "http://127.0.0.1:\(port)"])
    }

    static func configuration(_ path: String, h: Harness) throws -> String {
        let config = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("cli.yaml")
        try
            (Harness.configurationYAML(fakePort: h.fakePort, completionSLO: nil, approvals: 0, access: ConsoleTests.access)
            + "\ndatabase: \(path)\ncommands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)\n")
            .write(to: config, atomically: true, encoding: .utf8)
        return config.path
    }

    @Test("--output writes the token readable by its owner only; list shows no secret; a revoked token gets 401, by id or by user")
    func issueListRevoke() async throws {
        let (database, path) = try ConsoleTests.setUp()
        try await Harness.run(database: database, access: ConsoleTests.access) { h in
            let config = try Self.configuration(path, h: h)
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            let first = folder.appendingPathComponent("first.token").path
            // A file that exists with a looser mode is narrowed, not left readable.
            try "old".write(toFile: first, atomically: true, encoding: .utf8)
            chmod(first, 0o644)
            let issued = try await CLITests.run(["users", "token", "U0123ALICE", "--expires", "30d", "--output", first, "--config", config])
            #expect(issued.status == 0, "\(issued.err)")
            #expect(issued.out.isEmpty && issued.err.contains("Console token 1 for U0123ALICE") && issued.err.contains("mode 0600"))
            let attributes = try FileManager.default.attributesOfItem(atPath: first)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let token = try String(contentsOfFile: first, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.count == 64)
            let second = folder.appendingPathComponent("second.token").path
            #expect(try await CLITests.run(["users", "token", "U0123ALICE", "--output", second, "--config", config]).status == 0)

            #expect(try await Self.run("U0123ALICE", tokenFile: first, h: h).status == 0)
            let listed = try await CLITests.run(["users", "list", "--config", config])
            #expect(listed.status == 0 && listed.out.contains("U0123ALICE") && listed.out.contains("valid"), "\(listed.out)")
            #expect(!listed.out.contains(token) && !listed.out.contains(ConsoleTokens.digest(token)))

            let revoked = try await CLITests.run(["users", "revoke", "1", "--config", config])
            #expect(revoked.status == 0 && revoked.out.contains("revoked console token 1 of U0123ALICE"))
            let refused = try await Self.run("U0123ALICE", tokenFile: first, h: h)
            #expect(refused.status == 2 && refused.err.contains("401") && refused.err.contains("expired or revoked"), "\(refused.err)")
            #expect(try await Self.run("U0123ALICE", tokenFile: second, h: h).status == 0)
            #expect(try await CLITests.run(["users", "revoke", "U0123ALICE", "--config", config]).status == 0)
            #expect(try await Self.run("U0123ALICE", tokenFile: second, h: h).status == 2)
            let again = try await CLITests.run(["users", "revoke", "1", "--config", config])
            #expect(again.status != 0 && again.err.contains("no valid console token 1"))
            let events = try await h.database.tail(limit: 20).map(\.event)
            #expect(events.filter { $0 == "console.token_issued" }.count == 2 && events.filter { $0 == "console.token_revoked" }.count == 2)
        }
    }

    @Test("an expired token gets 401; a bad --expires is refused and issues nothing")
    func expiry() async throws {
        let (database, path) = try ConsoleTests.setUp()
        try await Harness.run(database: database, access: ConsoleTests.access) { h in
            let token = ConsoleTokens.generate()
            let issued = Date().addingTimeInterval(-3600)
            _ = try await database.saveToken(
                user: "U0123ALICE", digest: ConsoleTokens.digest(token), expiresAt: issued.addingTimeInterval(60), issuedBy: "test", now: issued)
            let file = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("expired.token").path
            try token.write(toFile: file, atomically: true, encoding: .utf8)
            let refused = try await Self.run("U0123ALICE", tokenFile: file, h: h)
            #expect(refused.status == 2 && refused.err.contains("401"), "\(refused.err)")
            let config = try Self.configuration(path, h: h)
            for bad in ["0d", "400d", "soon", "30s"] {
                let run = try await CLITests.run(["users", "token", "U0123ALICE", "--expires", bad, "--config", config])
                #expect(run.status != 0 && run.err.contains("--expires \"\(bad)\" is not a duration from 1m to 366d"), "\(bad): \(run.err)")
            }
            #expect(try await database.consoleTokens(user: "U0123ALICE").count == 1)
        }
    }

    @Test("the tokens cannot be read: 503 and nothing runs, not a 401 that blames the token")
    func storeFailure() async throws {
        let (database, path) = try ConsoleTests.setUp()
        try await Harness.run(database: database, access: ConsoleTests.access) { h in
            let file = try await ConsoleTests.token(for: "U0123ALICE", database: path, h: h)
            try StoreReadFaultTests.hide("consoleToken", in: path)
            let refused = try await Self.run("U0123ALICE", tokenFile: file, h: h)
            #expect(refused.status == 2 && refused.err.contains("503") && refused.err.contains("cannot read its database"), "\(refused.err)")
        }
    }
}
