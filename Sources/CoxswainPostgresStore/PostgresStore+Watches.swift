import CoxswainCore
import Foundation
import PostgresNIO

extension PostgresStore: WatchStore {
    public func startWatch(_ watch: ModelWatch, audit: AuditDraft, notices: [Notice], now: Date) async throws -> ModelWatch? {
        try await write("start watching \(watch.release)") { db in
            // One watch per job; one asked-for watch per release at a time (the release locked
            // so that two replicas cannot both start one).
            try await Self.lock(release: watch.release, db)
            let existing =
                if let jobID = watch.jobID { try await db.one("SELECT id FROM watch WHERE jobID = \(jobID)", Int64.self) } else {
                    try await db.one("SELECT id FROM watch WHERE jobID IS NULL AND release = \(watch.release) AND state = 'watching'", Int64.self)
                }
            guard existing == nil else { return nil }
            var stored = watch
            guard
                let id = try await db.one(
                    """
                    INSERT INTO watch (jobID, release, state, nextCheckAt, body)
                    VALUES (\(watch.jobID), \(watch.release), \(watch.state.rawValue), \(Stamp(watch.nextCheckAt)), '{}') RETURNING id
                    """, Int64.self)
            else { throw StoreFailure(kind: .other, location: self.location, operation: "start a watch", detail: "no id came back") }
            stored.id = id
            try await Self.updateWatch(stored, db)
            try await Self.insertAudit([audit], jobID: watch.jobID, now: now, db)
            try await Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
            return stored
        }
    }

    public func saveWatch(_ watch: ModelWatch, audit: [AuditDraft], notices: [Notice], now: Date) async throws {
        try await write("record the watch of \(watch.release)") { db in
            try await Self.updateWatch(watch, db)
            try await Self.insertAudit(audit, jobID: watch.jobID, now: now, db)
            try await Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
        }
    }

    public func activeWatches() async throws -> [ModelWatch] {
        try await read("read active watches") { db in
            try await db.all("SELECT body FROM watch WHERE state = 'watching' ORDER BY nextCheckAt", String.self).compactMap(Self.decodeWatch)
        }
    }

    public func watch(jobID: Int64) async throws -> ModelWatch? {
        try await read("read the watch after job #\(jobID)") { db in
            try await db.one("SELECT body FROM watch WHERE jobID = \(jobID)", String.self).flatMap(Self.decodeWatch)
        }
    }

    public func unwatchedSucceededJobs(since: Date) async throws -> [Job] {
        try await jobs("read jobs that ended without a watch") {
            """
            SELECT id FROM job WHERE state = 'succeeded' AND finishedAt > \(Stamp(since))
            AND NOT EXISTS (SELECT 1 FROM watch WHERE watch.jobID = job.id) ORDER BY id
            """
        }
    }

    private static func updateWatch(_ watch: ModelWatch, _ db: PostgresConnection) async throws {
        let body = String(decoding: try JSONEncoder().encode(watch), as: UTF8.self)
        try await db.run(
            """
            UPDATE watch SET state = \(watch.state.rawValue), nextCheckAt = \(Stamp(watch.nextCheckAt)), body = \(body) WHERE id = \(watch.id)
            """)
    }

    private static func decodeWatch(_ body: String) -> ModelWatch? { try? JSONDecoder().decode(ModelWatch.self, from: Data(body.utf8)) }
}

/// Retention, in batches found by a read and deleted by a short write, walking ids forward
/// from the cursor and stopping at the first record newer than the cutoff.
extension PostgresStore: RetentionStore {
    public func pruneNotices(before cutoff: Date, after cursor: Int64, limit: Int) async throws -> RetentionBatch {
        let rows = try await read("find old messages") { db in
            try await db.rows(
                """
                SELECT n.id, n.createdAt, n.state != 'pending'
                       AND (n.jobID IS NULL OR (j.state NOT IN \(unescaped: Self.openStates) AND j.finishedAt < \(Stamp(cutoff)))) AS expired
                FROM notice n LEFT JOIN job j ON j.id = n.jobID
                WHERE n.id > \(cursor) ORDER BY n.id LIMIT \(limit)
                """
            ).map { (id: try $0("id", Int64.self), createdAt: try $0.date("createdAt"), expired: try $0("expired", Bool?.self) == true) }
        }
        let (ids, last, done) = Self.expired(rows, cutoff: cutoff, cursor: cursor, limit: limit)
        guard !ids.isEmpty else { return RetentionBatch(deleted: 0, cursor: last, done: done) }
        // A notice that became pending again meanwhile (a retry) stays.
        let deleted = try await write("delete old messages") { db in
            try await db.run("DELETE FROM notice WHERE state != 'pending' AND id = ANY(\(ids)) RETURNING id")
        }
        return RetentionBatch(deleted: deleted, cursor: last, done: done)
    }

    public func pruneRequestKeys(before cutoff: Date, after cursor: Int64, limit: Int) async throws -> RetentionBatch {
        let rows = try await read("find old request keys") { db in
            try await db.rows("SELECT id, receivedAt FROM receivedRequest WHERE id > \(cursor) ORDER BY id LIMIT \(limit)").map {
                (id: try $0("id", Int64.self), createdAt: try $0.date("receivedAt"), expired: true)
            }
        }
        let (ids, last, done) = Self.expired(rows, cutoff: cutoff, cursor: cursor, limit: limit)
        guard !ids.isEmpty else { return RetentionBatch(deleted: 0, cursor: last, done: done) }
        let deleted = try await write("delete old request keys") { db in
            try await db.run("DELETE FROM receivedRequest WHERE id = ANY(\(ids)) RETURNING id")
        }
        return RetentionBatch(deleted: deleted, cursor: last, done: done)
    }

    /// The ids to delete among rows read in id order, where the next batch resumes, and
    /// whether the walk reached the cutoff (or the end).
    private static func expired(
        _ rows: [(id: Int64, createdAt: Date, expired: Bool)], cutoff: Date, cursor: Int64, limit: Int
    ) -> (ids: [Int64], last: Int64, done: Bool) {
        var ids: [Int64] = []
        var last = cursor
        for row in rows {
            guard row.createdAt < cutoff else { return (ids, last, true) }
            last = row.id
            if row.expired { ids.append(last) }
        }
        return (ids, last, rows.count < limit)
    }
}
