import CoxswainCore
@testable import CoxswainStore
import Foundation
import GRDB
import Testing

/// A database written by the first released schema, migrated to today by the migrations
/// as they are now, then read through the ports: what an operator upgrading from the first
/// version would find. Migrations must not depend on today's types; if this test starts
/// failing after a change to a domain type, the change needs a migration of its own.
@Suite struct MigrationFixtureTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/v1-database.sql")

    /// A file database holding the fixture as v1 left it.
    static func v1Database() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-v1-\(UUID().uuidString).sqlite").path
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in try db.execute(sql: try String(contentsOf: fixture, encoding: .utf8)) }
        try queue.close()
        return path
    }

    @Test("v1 to today: jobs, steps, audit trail, registry, request keys and undelivered messages all read back")
    func v1ToToday() async throws {
        let database = try AppDatabase.open(path: try Self.v1Database())

        let done = try #require(try await database.job(id: 1))
        #expect(done.request.kind == .rollback && done.request.release == "llama-2-7b-production" && done.request.requestedBy == "U0123ALICE")
        #expect(done.state == .succeeded && done.outcome == "rolled back to revision 3")
        #expect(done.request.reason == "pods OOM after upgrade")
        #expect(done.plan?.from.revision == 5 && done.plan?.to.revision == 3 && done.plan?.to.chart == "vllm-deployment-0.3.0")
        #expect(done.steps.map(\.action) == ["helm.history", "registry.disable", "helm.rollback", "registry.enable"])
        #expect(done.steps.allSatisfy { $0.status == .succeeded })
        let queued = try #require(try await database.job(id: 2))
        #expect(queued.state == .queued && queued.request.revision == 2 && queued.request.environment == "staging")

        // What planning reads about earlier jobs (v7): revision 5 was rolled back from, job 1 made revision 6.
        #expect(try await database.revisionsRolledBackFrom(release: "llama-2-7b-production", since: 1) == [5])
        #expect(try await database.jobsByCreatedRevision(release: "llama-2-7b-production", since: 1)[6]?.id == 1)

        #expect(
            try await database.entries(after: 0, limit: 10).map(\.event) == [
                "job.requested", "job.started", "job.succeeded", "job.requested", "registry.disable",
            ])
        // v10 chained the entries written before it, in the order they were written.
        let chained = try await AuditChainContractTests.verify(database)
        #expect(chained.holds && chained.entries == 5 && chained.head?.seq == 5, "\(chained.problems)")
        #expect(try await database.entry(model: "llama-2-7b", environment: "staging")?.status == .disabled)
        #expect(try await database.entry(model: "llama-2-7b", environment: "production")?.status == .ready)

        // Only the pending messages became notices, with Slack's escaping undone and their places kept.
        let notices = try await database.notices().map(\.notice)
        #expect(
            notices == [
                .message("helm said: <none> & revision 3 is <deployed>", jobID: 1, place: .thread),
                .message("Job #1 plan: revision 5 -> 3", jobID: 1, place: .person("U0123ALICE")),
                .message("llama-2-7b-production is back on revision 3", jobID: 1, place: .jobChannel),
                .message("registry: llama-2-7b disabled in staging by cli:root", jobID: nil, place: .channel("C0AUDIT")),
                .message(RichText(""), jobID: 2, place: .live),
            ])
        let references = try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT jobID, role, channel, ts, url FROM messageRef ORDER BY role").map {
                [$0["role"], $0["channel"], $0["ts"], $0["url"]] as [String?]
            }
        }
        #expect(
            references == [
                ["live", "C0OPS", "1790000000.000100", nil],
                ["person:U0123ALICE", nil, nil, "https://hooks.slack.com/commands/T1/1/abc"],
            ])

        // A retried request of v1 still finds its job; the tables added later work.
        let retried = try await database.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT jobID FROM receivedRequest WHERE key = 'trigger:1790000000.1'")
        }
        #expect(retried == 1)
        let now = Date()
        _ = try await database.saveToken(user: "U0123ALICE", digest: "d", expiresAt: now.addingTimeInterval(60), issuedBy: "test", now: now)
        #expect(try await database.tokenDigests(user: "U0123ALICE", now: now) == ["d"])
        #expect(try await database.tokenDigests(user: "U0123ALICE", now: now.addingTimeInterval(61)).isEmpty)
    }

    @Test("tokens issued before expiry existed expire 90 days after they were issued")
    func tokensGetAnExpiry() async throws {
        let path = try Self.v1Database()
        let migrator = AppDatabase.migrator
        // Up to v7, then a token as v5 to v7 wrote it, then the rest.
        let queue = try DatabaseQueue(path: path)
        try migrator.migrate(queue, upTo: "v7-hot-paths")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO consoleToken (user, digest, createdAt) VALUES ('U1', 'old', '2026-11-01 12:00:00.000')")
        }
        try queue.close()
        let database = try AppDatabase.open(path: path)
        let token = try #require(try await database.consoleTokens(user: "U1").first)
        #expect(token.expiresAt == Date(timeIntervalSince1970: 1_801_310_400))  // 2027-01-30 12:00:00 UTC
        #expect(try await database.tokenDigests(user: "U1", now: token.expiresAt.addingTimeInterval(-1)) == ["old"])
        #expect(try await database.tokenDigests(user: "U1", now: token.expiresAt).isEmpty)
    }
}
