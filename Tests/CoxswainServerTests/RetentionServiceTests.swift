import CoxswainCore
import CoxswainStore
import Foundation
import GRDB
import Testing

/// The server deletes what `retention:` no longer keeps, by itself: a rollback's messages,
/// 40 days after it finished, are gone once the server has started; the job, its steps and
/// its audit trail are not.
@Suite("retention", .serialized)
struct RetentionServiceTests {
    @Test("40 days after a rollback its messages and request key go at start-up; the job and its audit trail stay")
    func prunesAtStart() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-retention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("coxswain.sqlite").path
        try await Harness.run(database: try AppDatabase.open(path: path)) { h in
            let job = try await h.runToEnd("llama-2-7b-production pods OOM after upgrade")
            #expect(job.id == 1)
            try await Eventually.until("every message sent") { try await h.database.notices(jobID: 1).allSatisfy { $0.state != "pending" } }
        }
        let id: Int64 = 1
        let queue = try DatabaseQueue(path: path)
        let old = Date().addingTimeInterval(-40 * 86_400)
        let messages = try await queue.write { db in
            try db.execute(sql: "UPDATE job SET createdAt = ?, finishedAt = ?", arguments: [old, old])
            try db.execute(sql: "UPDATE notice SET createdAt = ?", arguments: [old])
            try db.execute(sql: "UPDATE receivedRequest SET receivedAt = ?", arguments: [old])
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notice") ?? 0
        }
        try queue.close()
        #expect(messages >= 3)
        let audit = try await AppDatabase.openReadOnly(path: path).entries(jobID: id).count

        try await Harness.run(database: try AppDatabase.open(path: path), extra: "retention: { notices: 720h, request_keys: 720h }") { h in
            try await Eventually.until("the old messages deleted") { try await h.database.notices(jobID: id).isEmpty }
            try await Eventually.until("the old request key deleted") {
                let reader = try DatabaseQueue(path: path)
                defer { try? reader.close() }
                return try await reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM receivedRequest") } == 0
            }
            let job = try #require(try await h.database.job(id: id))
            #expect(job.state == .succeeded && !job.steps.isEmpty)
            #expect(try await h.database.entries(jobID: id).count == audit)
        }
    }

    @Test("retention: forever for both keeps old messages and request keys, and the server runs as usual")
    func foreverKeepsEverything() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-retention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("coxswain.sqlite").path
        let forever = "retention: { notices: forever, request_keys: forever }"
        try await Harness.run(database: try AppDatabase.open(path: path), extra: forever) { h in
            _ = try await h.runToEnd("llama-2-7b-production pods OOM after upgrade")
            try await Eventually.until("every message sent") { try await h.database.notices(jobID: 1).allSatisfy { $0.state != "pending" } }
        }
        let old = Date().addingTimeInterval(-400 * 86_400)
        let queue = try DatabaseQueue(path: path)
        let messages = try await queue.write { db in
            try db.execute(sql: "UPDATE job SET createdAt = ?, finishedAt = ?", arguments: [old, old])
            try db.execute(sql: "UPDATE notice SET createdAt = ?", arguments: [old])
            try db.execute(sql: "UPDATE receivedRequest SET receivedAt = ?", arguments: [old])
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notice") ?? 0
        }
        try queue.close()

        try await Harness.run(database: try AppDatabase.open(path: path), extra: forever) { h in
            let second = try await h.runToEnd("llama-2-7b-production a second look")
            #expect(second.state == .succeeded)
            #expect(try await h.database.notices(jobID: 1).count == messages)
        }
        let reader = try DatabaseQueue(path: path)
        defer { try? reader.close() }
        // The first job's key, 400 days old, and the second's.
        #expect(try await reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM receivedRequest") } ?? 0 >= 2)
    }
}
