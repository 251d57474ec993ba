import CoxswainCore
import Foundation
import Testing

/// What retention deletes and what it keeps: messages of jobs that finished before the
/// cutoff once they are no longer pending, and old request keys; never a pending message,
/// a message of a job still open, a job, a step or an audit entry.
@Suite struct RetentionTests {
    static let day: TimeInterval = 86_400

    /// Jobs 1...count, each with a delivered live message and request key, created and finished `age` ago.
    static func database(_ kind: StoreKind, jobs count: Int, age: TimeInterval) async throws -> TestStore {
        let store = try await TestStore.make(kind)
        for index in 1...count {
            try await AppDatabaseTests.accept(
                store.ports, "release-\(index)", key: "key-\(index)", notices: [.message("hello", jobID: nil, place: .live)])
        }
        let then = store.literal(Date().addingTimeInterval(-age))
        try await store.execute("UPDATE job SET state = 'succeeded', finishedAt = \(then), createdAt = \(then)")
        try await store.execute("UPDATE notice SET state = 'delivered', head = FALSE, createdAt = \(then)")
        try await store.execute("UPDATE receivedRequest SET receivedAt = \(then)")
        return store
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

    @Test("messages of jobs finished before the cutoff go, in batches; jobs, steps and audit entries stay", arguments: StoreKind.tested)
    func oldMessagesGo(kind: StoreKind) async throws {
        let store = try await Self.database(kind, jobs: 7, age: 40 * Self.day)
        defer { store.close() }
        let db = store.ports
        let cutoff = Date().addingTimeInterval(-30 * Self.day)
        let (deleted, batches) = try await Self.drain { try await db.pruneNotices(before: cutoff, after: $0, limit: 3) }
        #expect(deleted == 7 && batches == 3)
        #expect(try await store.count("notice") == 0)
        #expect(try await store.count("job") == 7)
        #expect(try await store.count("auditEntry") == 7)
    }

    @Test("pending messages, messages of open jobs and anything newer than the cutoff stay", arguments: StoreKind.tested)
    func whatStays(kind: StoreKind) async throws {
        let store = try await Self.database(kind, jobs: 4, age: 40 * Self.day)
        defer { store.close() }
        let db = store.ports
        let recent = store.literal(Date().addingTimeInterval(-2 * Self.day))
        try await store.execute("UPDATE notice SET state = 'pending' WHERE jobID = 1")
        try await store.execute("UPDATE job SET state = 'awaiting_approval', finishedAt = NULL WHERE id = 2")
        // Job 3 was created long ago but finished recently: its messages are kept until that is old too.
        try await store.execute("UPDATE job SET finishedAt = \(recent) WHERE id = 3")
        let cutoff = Date().addingTimeInterval(-30 * Self.day)
        let (deleted, _) = try await Self.drain { try await db.pruneNotices(before: cutoff, after: $0, limit: 2) }
        #expect(deleted == 1)
        let left = try await store.integers("SELECT jobID FROM notice ORDER BY jobID")
        #expect(left == [1, 2, 3])
        // Nothing is older than a cutoff in the past: the walk stops at once and deletes nothing.
        let none = try await db.pruneNotices(before: Date().addingTimeInterval(-50 * Self.day), after: 0, limit: 2)
        #expect(none == RetentionBatch(deleted: 0, cursor: 0, done: true))
    }

    @Test("request keys older than the cutoff go; a newer one still makes its retry harmless", arguments: StoreKind.tested)
    func requestKeys(kind: StoreKind) async throws {
        let store = try await Self.database(kind, jobs: 5, age: 40 * Self.day)
        defer { store.close() }
        let db = store.ports
        try await AppDatabaseTests.accept(db, "fresh", key: "fresh-key")
        let cutoff = Date().addingTimeInterval(-30 * Self.day)
        let (deleted, _) = try await Self.drain { try await db.pruneRequestKeys(before: cutoff, after: $0, limit: 2) }
        #expect(deleted == 5)
        let keys = try await store.strings("SELECT key FROM receivedRequest")
        #expect(keys == ["fresh-key"])
        let retried = try await AppDatabaseTests.accept(db, "fresh", key: "fresh-key")
        #expect(try await store.count("job") == 6 && retried.request.release == "fresh")
    }
}
