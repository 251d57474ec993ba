import CoxswainCore
import Foundation
import GRDB

/// Retention, in batches found by a read and deleted by a short write: ids (and rowids)
/// grow with time, so a batch walks forward from its cursor and stops at the first record
/// newer than the cutoff, never scanning what is kept.
extension AppDatabase: RetentionStore {
    public func pruneNotices(before cutoff: Date, after cursor: Int64, limit: Int) async throws -> RetentionBatch {
        let rows = try await read("find old messages") { db in
            try Candidate.fetchAll(
                db,
                sql: """
                    SELECT n.id, n.createdAt, n.state != 'pending'
                           AND (n.jobID IS NULL OR (j.state NOT IN ('queued', 'awaiting_approval', 'awaiting_confirmation', 'running')
                                                    AND j.finishedAt < ?)) AS expired
                    FROM notice n LEFT JOIN job j ON j.id = n.jobID
                    WHERE n.id > ? ORDER BY n.id LIMIT ?
                    """, arguments: [cutoff, cursor, limit])
        }
        let (ids, last, done) = Self.expired(rows, cutoff: cutoff, cursor: cursor, limit: limit)
        guard !ids.isEmpty else { return RetentionBatch(deleted: 0, cursor: last, done: done) }
        let deleted = try await write("delete old messages") { db in
            // A notice that became pending again meanwhile (a retry) stays.
            try db.execute(sql: "DELETE FROM notice WHERE state != 'pending' AND id IN (\(ids.map(String.init).joined(separator: ",")))")
            return db.changesCount
        }
        return RetentionBatch(deleted: deleted, cursor: last, done: done)
    }

    public func pruneRequestKeys(before cutoff: Date, after cursor: Int64, limit: Int) async throws -> RetentionBatch {
        let rows = try await read("find old request keys") { db in
            try Candidate.fetchAll(
                db, sql: "SELECT rowid AS id, receivedAt AS createdAt, 1 AS expired FROM receivedRequest WHERE rowid > ? ORDER BY rowid LIMIT ?",
                arguments: [cursor, limit])
        }
        let (ids, last, done) = Self.expired(rows, cutoff: cutoff, cursor: cursor, limit: limit)
        guard !ids.isEmpty else { return RetentionBatch(deleted: 0, cursor: last, done: done) }
        let deleted = try await write("delete old request keys") { db in
            try db.execute(sql: "DELETE FROM receivedRequest WHERE rowid IN (\(ids.map(String.init).joined(separator: ",")))")
            return db.changesCount
        }
        return RetentionBatch(deleted: deleted, cursor: last, done: done)
    }

    /// A record retention may delete: its id, when it was made, whether it has expired.
    private struct Candidate: Sendable {
        var id: Int64
        var createdAt: Date?
        var expired: Bool

        static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments) throws -> [Candidate] {
            try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                Candidate(id: $0["id"], createdAt: ($0["createdAt"] as Date?), expired: $0["expired"] as Bool? == true)
            }
        }
    }

    /// The ids to delete among rows read in id order, where the next batch resumes, and whether
    /// the walk reached the cutoff (or the end).
    private static func expired(_ rows: [Candidate], cutoff: Date, cursor: Int64, limit: Int) -> (ids: [Int64], last: Int64, done: Bool) {
        var ids: [Int64] = []
        var last = cursor
        for row in rows {
            guard let created = row.createdAt, created < cutoff else { return (ids, last, true) }
            last = row.id
            if row.expired { ids.append(last) }
        }
        return (ids, last, rows.count < limit)
    }
}
