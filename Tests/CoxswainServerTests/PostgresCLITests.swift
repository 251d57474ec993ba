import CoxswainCore
import Foundation
import PostgresTestServer
import Testing

/// The `coxswain` executable on a PostgreSQL database, as an operator runs it: the address
/// in the configuration, the password from a mounted file, never in the configuration or in
/// anything printed.
@Suite("coxswain CLI on PostgreSQL", .serialized, .enabled(if: TestPostgres.available, "PostgreSQL is not installed"))
struct PostgresCLITests {
    /// A configuration naming a fresh database, and the password file beside it.
    static func setUp(database: String? = nil) async throws -> (config: String, passwordFile: String) {
        let address = try await TestPostgres.shared.freshDatabase(empty: true)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-pgcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let passwordFile = directory.appendingPathComponent("password").path
        try (TestPostgres.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("coxswain.yaml").path
        try """
        database: \(database ?? "postgres://\(address.user)@127.0.0.1:\(address.port)/\(address.database)?sslmode=disable")
        commands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)
        environments: { production: { namespace: production, approvals: 0 } }
        releases:
          llama-2-7b-production: { model: llama-2-7b, environment: production, endpoint: "http://llama:8000" }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return (config, passwordFile)
    }

    @Test("migrate creates the tables; registry, audit and jobs commands work; reading commands refuse a database not migrated yet")
    func commands() async throws {
        let (config, passwordFile) = try await Self.setUp()
        let secret = ["COXSWAIN_DATABASE_PASSWORD_FILE": passwordFile, "USER": "oncall"]
        let early = try await CLITests.run(["registry", "list", "--config", config], environment: secret)
        #expect(early.status != 0 && early.err.contains("has no Coxswain tables; `coxswain migrate --config FILE` creates them"), "\(early.err)")

        let migrate = try await CLITests.run(["migrate", "--config", config], environment: secret)
        #expect(migrate.status == 0 && migrate.out.contains("postgres://coxswain@127.0.0.1:"), "\(migrate.err)")
        let disable = try await CLITests.run(
            ["registry", "disable", "--model-name", "llama-2-7b", "--environment", "production", "--reason", "incident 42", "--config", config],
            environment: secret)
        #expect(disable.status == 0 && disable.out == "llama-2-7b in production: disabled\n", "\(disable.err)")
        let list = try await CLITests.run(["registry", "list", "--config", config], environment: secret)
        #expect(list.status == 0 && list.out.contains("disabled"))
        let export = try await CLITests.run(["audit", "export", "--format", "jsonl", "--config", config], environment: secret)
        #expect(export.out.contains("\"detail\":\"llama-2-7b in production: ready -> disabled (incident 42)\""), "\(export.out)")
        #expect(try await CLITests.run(["jobs", "list", "--config", config], environment: secret).out.hasPrefix("ID"))
        for run in [early, migrate, disable, list, export] { #expect(!(run.out + run.err).contains(TestPostgres.password)) }
    }

    @Test("a wrong or missing password, and a password in the configuration, are refused with what to do")
    func refusals() async throws {
        let (config, passwordFile) = try await Self.setUp()
        let wrong = try await CLITests.run(["migrate", "--config", config], environment: ["COXSWAIN_DATABASE_PASSWORD": "not-it-at-all"])
        #expect(wrong.status != 0 && wrong.err.contains("postgres://coxswain@127.0.0.1:") && wrong.err.contains("28P01"), "\(wrong.err)")
        #expect(!wrong.err.contains("not-it-at-all"))
        let unreadable = try await CLITests.run(
            ["migrate", "--config", config], environment: ["COXSWAIN_DATABASE_PASSWORD_FILE": passwordFile + ".missing"])
        #expect(unreadable.status != 0 && unreadable.err.contains("COXSWAIN_DATABASE_PASSWORD_FILE points at"), "\(unreadable.err)")

        let (inline, _) = try await Self.setUp(database: "postgres://coxswain:hunter2@127.0.0.1:5432/coxswain")
        let refused = try await CLITests.run(["migrate", "--config", inline])
        #expect(refused.status != 0 && refused.err.contains("set COXSWAIN_DATABASE_PASSWORD or COXSWAIN_DATABASE_PASSWORD_FILE instead"))
        #expect(!refused.err.contains("hunter2"))
    }
}
