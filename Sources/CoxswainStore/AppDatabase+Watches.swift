import CoxswainCore
import Foundation
import GRDB

extension AppDatabase: WatchStore {
    public func startWatch(_ watch: ModelWatch, audit: AuditDraft, notices: [Notice], now: Date) async throws -> ModelWatch? {
        try await write("start watching \(watch.release)") { db in
            // One watch per job; one asked-for watch per release at a time.
            let existing =
                try watch.jobID.map { try Int64.fetchOne(db, sql: "SELECT id FROM watch WHERE jobID = ?", arguments: [$0]) }
                ?? Int64.fetchOne(db, sql: "SELECT id FROM watch WHERE jobID IS NULL AND release = ? AND state = 'watching'", arguments: [watch.release])
            guard existing == nil else { return nil }
            try db.execute(
                sql: "INSERT INTO watch (jobID, release, state, nextCheckAt, body) VALUES (?, ?, ?, ?, '{}')",
                arguments: [watch.jobID, watch.release, watch.state.rawValue, watch.nextCheckAt])
            var stored = watch
            stored.id = db.lastInsertedRowID
            try Self.updateWatch(stored, db)
            try Self.insertAudit([audit], jobID: watch.jobID, now: now, db)
            try Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
            return stored
        }
    }

    public func saveWatch(_ watch: ModelWatch, audit: [AuditDraft], notices: [Notice], now: Date) async throws {
        try await write("record the watch of \(watch.release)") { db in
            try Self.updateWatch(watch, db)
            try Self.insertAudit(audit, jobID: watch.jobID, now: now, db)
            try Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
        }
    }

    public func activeWatches() async throws -> [ModelWatch] {
        try await read("read active watches") { db in
            try String.fetchAll(db, sql: "SELECT body FROM watch WHERE state = 'watching' ORDER BY nextCheckAt").compactMap(Self.decodeWatch)
        }
    }

    public func watch(jobID: Int64) async throws -> ModelWatch? {
        // (an asked-for watch has no job; `activeWatches` lists it)
        try await read("read the watch after job #\(jobID)") { db in
            try String.fetchOne(db, sql: "SELECT body FROM watch WHERE jobID = ?", arguments: [jobID]).flatMap(Self.decodeWatch)
        }
    }

    public func unwatchedSucceededJobs(since: Date) async throws -> [Job] {
        try await read("read jobs that ended without a watch") { db in
            let ids = try Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM job WHERE state = 'succeeded' AND finishedAt > ?
                    AND NOT EXISTS (SELECT 1 FROM watch WHERE watch.jobID = job.id) ORDER BY id
                    """, arguments: [since])
            return try ids.compactMap { try Self.loadJob(id: $0, db) }
        }
    }

    private static func updateWatch(_ watch: ModelWatch, _ db: Database) throws {
        let body = String(decoding: try JSONEncoder().encode(watch), as: UTF8.self)
        try db.execute(
            sql: "UPDATE watch SET state = ?, nextCheckAt = ?, body = ? WHERE id = ?",
            arguments: [watch.state.rawValue, watch.nextCheckAt, body, watch.id])
    }

    private static func decodeWatch(_ body: String) -> ModelWatch? { try? JSONDecoder().decode(ModelWatch.self, from: Data(body.utf8)) }
}
