import CoxswainCore
@testable import CoxswainStore
import Foundation
import GRDB
import Testing

@Suite struct AppDatabaseTests {
    static func request(_ release: String, model: String = "m", user: String = "U1") -> JobRequest {
        JobRequest(
            kind: .rollback, command: "/rollback", release: release, environment: "production", namespace: "production", model: model,
            requestedBy: user, channel: "C1", platform: "slack")
    }

    @discardableResult
    static func accept(_ db: any JobStore, _ release: String, key: String, model: String = "m", notices: [Notice] = []) async throws -> Job {
        try await db.accept(
            request(release, model: model), approvalsRequired: 0, requestKey: key, references: [], now: Date(), join: nil,
            created: { job, _ in
                JobChange(
                    job: job, audit: [AuditDraft(actor: "U1", event: "job.requested", detail: "")],
                    notices: notices.map { Notice(jobID: job.id, place: $0.place, body: $0.body) })
            },
            joined: { JobChange(job: $0) }
        ).job
    }

    static func claim(_ db: any JobStore) async throws -> Job? {
        try await db.claimNext(now: Date()) { job in
            var running = job
            running.state = .running
            running.runnerID = "test"
            return JobChange(job: running)
        }
    }

    @Test("a file database is in WAL mode, writes durably (synchronous=FULL), and a reader opens it read-only")
    func fileDatabase() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
        let db = try AppDatabase.open(path: path)
        #expect(await db.isReachable())
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        try await Self.accept(db, "a", key: "1")
        // 2 = FULL on the connection that writes: an acknowledged request survives a power loss.
        #expect(try await db.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)

        let reader = try AppDatabase.openReadOnly(path: path)
        #expect(try await reader.recentJobs(release: nil, limit: 5).count == 1)
        await #expect(throws: StoreFailure.self) { try await Self.accept(reader, "b", key: "2") }

        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("nothing-\(UUID().uuidString).sqlite").path
        #expect(throws: StoreFailure.self) { _ = try AppDatabase.openReadOnly(path: missing) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("a database locked by another writer is a transient failure that names the file")
    func lockedDatabase() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
        let db = try AppDatabase.open(path: path)
        var holder = Configuration()
        holder.allowsUnsafeTransactions = true  // it holds the lock across accesses, as another process would
        let other = try DatabaseQueue(path: path, configuration: holder)
        try await other.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE") }
        do {
            try await Self.accept(db, "a", key: "1")
            Issue.record("wrote through another writer's exclusive lock")
        } catch let failure as StoreFailure {
            #expect(failure.kind == .busy && failure.isTransient)
            #expect(failure.description.contains(path))
            #expect(db.lastWriteFailure?.kind == .busy)
        }
        try await other.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        try await Self.accept(db, "a", key: "1")
        #expect(db.lastWriteFailure == nil)
    }
}
