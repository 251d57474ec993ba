import CoxswainCore
@testable import CoxswainStore
import Foundation
import GRDB
import Testing

/// What retention deletes and what it keeps: messages of jobs that finished before the
/// cutoff once they are no longer pending, and old request keys; never a pending message,
/// a message of a job still open, a job, a step or an audit entry.
@Suite struct RetentionTests {
    static let day: TimeInterval = 86_400

    /// Jobs 1...count, each with a delivered live message and request key, created and finished `age` ago.
    static func database(jobs count: Int, age: TimeInterval) async throws -> AppDatabase {
        let db = try AppDatabase.inMemory()
        for index in 1...count {
            try await AppDatabaseTests.accept(db, "release-\(index)", key: "key-\(index)", notices: [.message("hello", jobID: nil, place: .live)])
        }
        let then = Date().addingTimeInterval(-age)
        try await db.writer.write { db in
            try db.execute(sql: "UPDATE job SET state = 'succeeded', finishedAt = ?, createdAt = ?", arguments: [then, then])
            try db.execute(sql: "UPDATE notice SET state = 'delivered', head = 0, createdAt = ?", arguments: [then])
            try db.execute(sql: "UPDATE receivedRequest SET receivedAt = ?", arguments: [then])
        }
        return db
    }

    static func count(_ table: String, _ db: AppDatabase) async throws -> Int {
        try await db.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    /// Runs batches until done, as RetentionService does.
    static func drain(_ batch: (Int64) async throws -> RetentionBatch) async throws -> (deleted: Int, batches: Int) {
        var cursor: Int64 = 0, deleted = 0, batches = 0
        while true {
            let result = try await batch(cursor)
            deleted += result.deleted; cursor = result.cursor; batches += 1
            if result.done { return (deleted, batches) }
        }
    }

    @Test("messages of jobs finished before the cutoff go, in batches; jobs, steps and audit entries stay")
    func oldMessagesGo() async throws {
        let db = try await Self.database(jobs: 7, age: 40 * Self.day)
        let cutoff = Date().addingTimeInterval(-30 * Self.day)
        let (deleted, batches) = try await Self.drain { try await db.pruneNotices(before: cutoff, after: $0, limit: 3) }
        #expect(deleted == 7 && batches == 3)
        #expect(try await Self.count("notice", db) == 0)
        #expect(try await Self.count("job", db) == 7)
        #expect(try await Self.count("auditEntry", db) == 7)
    }

    @Test("pending messages, messages of open jobs and anything newer than the cutoff stay")
    func whatStays() async throws {
        let db = try await Self.database(jobs: 4, age: 40 * Self.day)
        let recent = Date().addingTimeInterval(-2 * Self.day)
        try await db.writer.write { db in
            try db.execute(sql: "UPDATE notice SET state = 'pending' WHERE jobID = 1")
            try db.execute(sql: "UPDATE job SET state = 'awaiting_approval', finishedAt = NULL WHERE id = 2")
            // Job 3 was created long ago but finished recently: its messages are kept until that is old too.
            try db.execute(sql: "UPDATE job SET finishedAt = ? WHERE id = 3", arguments: [recent])
        }
        let cutoff = Date().addingTimeInterval(-30 * Self.day)
        let (deleted, _) = try await Self.drain { try await db.pruneNotices(before: cutoff, after: $0, limit: 2) }
        #expect(deleted == 1)
        let left = try await db.writer.read { try Int64.fetchAll($0, sql: "SELECT jobID FROM notice ORDER BY jobID") }
        #expect(left == [1, 2, 3])
        // Nothing is older than a cutoff in the past: the walk stops at once and deletes nothing.
        let none = try await db.pruneNotices(before: Date().addingTimeInterval(-50 * Self.day), after: 0, limit: 2)
        #expect(none == RetentionBatch(deleted: 0, cursor: 0, done: true))
    }

    @Test("request keys older than the cutoff go; a newer one still makes its retry harmless")
    func requestKeys() async throws {
        let db = try await Self.database(jobs: 5, age: 40 * Self.day)
        try await AppDatabaseTests.accept(db, "fresh", key: "fresh-key")
        let cutoff = Date().addingTimeInterval(-30 * Self.day)
        let (deleted, _) = try await Self.drain { try await db.pruneRequestKeys(before: cutoff, after: $0, limit: 2) }
        #expect(deleted == 5)
        let keys = try await db.writer.read { try String.fetchAll($0, sql: "SELECT key FROM receivedRequest") }
        #expect(keys == ["fresh-key"])
        let retried = try await AppDatabaseTests.accept(db, "fresh", key: "fresh-key")
        #expect(try await Self.count("job", db) == 6 && retried.request.release == "fresh")
    }
}
