import CoxswainCore
import CoxswainStore
import Foundation
import GRDB
import PostgresTestServer
import Testing

/// From one SQLite replica to PostgreSQL: `coxswain migrate --to` copies the database a
/// configuration names, and every reading command says the same about the copy.
@Suite("coxswain migrate --to postgres://", .serialized, .enabled(if: TestPostgres.available, "PostgreSQL is not installed"))
struct PostgresMigrateTests {
    /// An SQLite database a server closed after a rollback (jobs, steps, audit, notices, registry), with a console token.
    static func usedSQLiteDatabase() async throws -> (config: String, path: String) {
        let folder = try ReadOnlyCopyTests.folder("to-postgres")
        let path = folder.appendingPathComponent("coxswain.sqlite").path
        try await Harness.run(database: try AppDatabase.open(path: path)) { h in
            _ = try await h.runToEnd("llama-2-7b-production pods OOM after upgrade")
        }
        let queue = try DatabaseQueue(path: path)
        try await queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try queue.close()
        let config = try ReadOnlyCopyTests.configuration(database: path)
        let token = try await CLITests.run(["users", "token", "U0123ALICE", "--config", config], environment: ["USER": "admin"])
        #expect(token.status == 0, "\(token.err)")
        return (config, path)
    }

    @Test("copies jobs, audit, registry, tokens and messages with their ids; the copy reads the same; a second copy into it is refused")
    func copiesEverything() async throws {
        let (sqliteConfig, path) = try await Self.usedSQLiteDatabase()
        let address = try await TestPostgres.shared.freshDatabase(empty: true)
        let url = "postgres://\(address.user)@127.0.0.1:\(address.port)/\(address.database)?sslmode=disable"
        let secret = ["COXSWAIN_DATABASE_PASSWORD": TestPostgres.password, "USER": "admin"]
        let copy = try await CLITests.run(["migrate", "--config", sqliteConfig, "--to", url], environment: secret)
        #expect(copy.status == 0, "\(copy.err)")
        #expect(copy.out.contains("every table's count matches") && copy.out.contains("next: set `database: \(url)`"), "\(copy.out)")
        #expect(!(copy.out + copy.err).contains(TestPostgres.password))
        let source = try AppDatabase.openReadOnly(path: path)
        for table in ["job", "jobStep", "auditEntry", "notice", "consoleToken", "registryEntry", "messageRef"] {
            let rows = try await source.rowCount(table)
            #expect(rows > 0, "\(table)")
            #expect(copy.out.contains("  \(table.padding(toLength: 16, withPad: " ", startingAt: 0)) \(rows)\n"), "\(table): \(copy.out)")
        }

        // Every reading command says the same about both databases.
        let postgresConfig = try ReadOnlyCopyTests.configuration(database: url)
        for command in [["audit", "export", "--format", "jsonl"], ["jobs", "show", "1"], ["jobs", "list"], ["registry", "list"], ["users", "list"]] {
            let before = try await CLITests.run(command + ["--config", sqliteConfig], environment: secret)
            let after = try await CLITests.run(command + ["--config", postgresConfig], environment: secret)
            #expect(before.status == 0 && after.status == 0, "\(command): \(before.err) \(after.err)")
            #expect(before.out == after.out, "\(command)")
        }
        // The sequences continue after the copied ids: the next audit entry follows the last copied one.
        let disable = try await CLITests.run(
            ["registry", "disable", "--model-name", "llama-2-7b", "--environment", "production", "--reason", "after the copy", "--config", postgresConfig],
            environment: secret)
        #expect(disable.status == 0, "\(disable.err)")
        let last = try await source.tail(limit: 1).first?.id ?? 0
        let exported = try await CLITests.run(["audit", "export", "--format", "jsonl", "--config", postgresConfig], environment: secret)
        #expect(exported.out.contains("\"id\":\(last + 1)") && exported.out.contains("after the copy"), "\(exported.out.suffix(400))")
        // The hash chain came across whole (PostgreSQL's trigger checked each copied hash) and goes on.
        let verified = try await CLITests.run(["audit", "verify", "--config", postgresConfig], environment: secret)
        let entries = try await source.rowCount("auditEntry") + 1
        #expect(verified.status == 0 && verified.out.contains("\(entries) entries read"), "\(verified.out)")

        // Into a database that holds records now: refused, nothing added.
        let again = try await CLITests.run(["migrate", "--config", sqliteConfig, "--to", url], environment: secret)
        #expect(again.status != 0 && again.err.contains("nothing was copied") && again.err.contains("already holds records"), "\(again.err)")
        let jobs = try await CLITests.run(["jobs", "list", "--config", postgresConfig], environment: secret)
        #expect(jobs.out.split(separator: "\n").count == 2, "\(jobs.out)")
    }

    @Test("an SQLite trail whose chain does not verify is not copied: the copy names the first entry that does not extend it")
    func brokenChainRefused() async throws {
        let (sqliteConfig, path) = try await Self.usedSQLiteDatabase()
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DROP TRIGGER auditEntry_appendOnly_update; UPDATE auditEntry SET detail = 'nothing happened' WHERE seq = 2")
        }
        let address = try await TestPostgres.shared.freshDatabase(empty: true)
        let url = "postgres://\(address.user)@127.0.0.1:\(address.port)/\(address.database)?sslmode=disable"
        let secret = ["COXSWAIN_DATABASE_PASSWORD": TestPostgres.password]
        let copy = try await CLITests.run(["migrate", "--config", sqliteConfig, "--to", url], environment: secret)
        #expect(copy.status != 0 && copy.err.contains("audit entry 2 does not extend the chain") && copy.err.contains("nothing was copied"), "\(copy.err)")
    }

    @Test("refused with what to do: a configuration that already names PostgreSQL, a bad URL, a server still running on the SQLite database")
    func refusals() async throws {
        let address = try await TestPostgres.shared.freshDatabase(empty: true)
        let url = "postgres://\(address.user)@127.0.0.1:\(address.port)/\(address.database)?sslmode=disable"
        let secret = ["COXSWAIN_DATABASE_PASSWORD": TestPostgres.password]
        let onPostgres = try await CLITests.run(["migrate", "--config", try ReadOnlyCopyTests.configuration(database: url), "--to", url], environment: secret)
        #expect(onPostgres.status != 0 && onPostgres.err.contains("already names PostgreSQL"), "\(onPostgres.err)")
        let folder = try ReadOnlyCopyTests.folder("bad-url")
        let config = try ReadOnlyCopyTests.configuration(database: folder.appendingPathComponent("c.sqlite").path)
        let badURL = try await CLITests.run(["migrate", "--config", config, "--to", "mysql://x@y/z"], environment: secret)
        #expect(badURL.status != 0 && badURL.err.contains("--to is not a postgres:// URL") && badURL.err.contains("Example:"), "\(badURL.err)")
        // A live server's database (its log not merged into the file) is not copied half-way.
        let live = folder.appendingPathComponent("live.sqlite").path
        let writer = try AppDatabase.open(path: live)
        try await writer.seed([], now: Date())
        let liveConfig = try ReadOnlyCopyTests.configuration(database: live)
        try await writer.append(AuditDraft(actor: "t", event: "e", detail: "d"), jobID: nil, notices: [], now: Date())
        _ = try await writer.acquire(Lease(holder: "serving", host: "node-a", pid: 4242, expiresAt: Date().addingTimeInterval(30)), now: Date())
        let busy = try await CLITests.run(["migrate", "--config", liveConfig, "--to", url], environment: secret)
        #expect(busy.status != 0 && busy.err.contains("a Coxswain server (node-a, pid 4242) still holds") && busy.err.contains("stop it first"), "\(busy.err)")
        #expect(
            try await TestPostgres.withConnection(port: address.port, database: address.database) { connection in
                try await connection.query("SELECT to_regclass('job') IS NULL", logger: TestPostgres.logger).collect().first?.decode(Bool.self)
            } == true, "nothing created in PostgreSQL")
    }
}
