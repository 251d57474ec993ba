import CoxswainCore
import Foundation
import GRDB

/// The outbox: notices written with the change they report, delivered by each front end.
extension AppDatabase: OutboxStore {
    public func enqueue(_ notices: [Notice], platform: String, route: String?, now: Date) async throws {
        try await write("store \(notices.count) message(s)") { db in try Self.insertNotices(notices, route: route, now: now, db, platforms: [platform]) }
    }

    public func due(platform: String, now: Date, limit: Int) async throws -> [OutboxItem] {
        // Dates are stored to the millisecond: what is due within this millisecond is due.
        let now = now.addingTimeInterval(0.001)
        let query = HotPathQueries.dueNotices
        // Idle most of the time: look before taking the write lock.
        let anyDue = try await read("look for due messages") { db in
            try Row.fetchOne(db.cachedStatement(sql: query), arguments: [platform, now, 1]) != nil
        }
        guard anyDue else { return [] }
        return try await write("take due messages") { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: query), arguments: [platform, now, limit])
            let items = try rows.map { try Self.item($0, db) }
            // The intent is recorded before anything is sent: after a crash these are checked
            // against what the platform shows instead of being sent twice.
            for item in items {
                try db.cachedStatement(sql: "UPDATE notice SET sendingSince = ? WHERE id = ?").execute(arguments: [now, item.id])
            }
            return items.map { item in
                var item = item; item.sendingSince = now; return item
            }
        }
    }

    public func inFlight(platform: String) async throws -> [OutboxItem] {
        try await read("read messages being sent") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM notice WHERE platform = ? AND state = 'pending' AND sendingSince IS NOT NULL ORDER BY id",
                arguments: [platform]
            ).map { try Self.item($0, db) }
        }
    }

    public func nextDue(platform: String) async throws -> Date? {
        try await read("read when the next message is due") { db in
            try Date.fetchOne(db.cachedStatement(sql: HotPathQueries.nextDueNotice), arguments: [platform])
        }
    }

    @discardableResult
    public func delivered(_ id: Int64, reference: MessageReference?, now: Date) async throws -> Bool {
        // Grouped: the deliveries of a batch (and the webhook's requests meanwhile) share a commit.
        try await groupedWrite("record message \(id) as delivered") { db in
            try db.cachedStatement(sql: "UPDATE notice SET state = 'delivered', deliveredAt = ?, sendingSince = NULL, attempts = attempts + 1 WHERE id = ?")
                .execute(arguments: [now, id])
            let passed = try Self.passHead(from: id, db)
            if let reference { try Self.save(reference, db) }
            return passed
        }
    }

    public func retry(_ ids: [Int64], error: String, notBefore: Date, countsAsAttempt: Bool) async throws {
        guard !ids.isEmpty else { return }
        // Grouped too: under a rate limit every new job's first post comes back here at once.
        try await groupedWrite("schedule \(ids.count) message(s) again") { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE notice SET attempts = attempts + ?, lastError = ?, notBefore = ?, sendingSince = NULL WHERE id = ?")
            for id in ids { try statement.execute(arguments: [countsAsAttempt ? 1 : 0, error, notBefore, id]) }
        }
    }

    public func failed(_ id: Int64, error: String, audit: AuditDraft?, followUps: [Notice], now: Date) async throws {
        try await write("record message \(id) as failed") { db in
            try db.execute(
                sql: "UPDATE notice SET state = 'failed', attempts = attempts + 1, lastError = ?, sendingSince = NULL WHERE id = ?",
                arguments: [error, id])
            try Self.passHead(from: id, db)
            let jobID = try Int64.fetchOne(db.cachedStatement(sql: "SELECT jobID FROM notice WHERE id = ?"), arguments: [id])
            if let audit { try Self.insertAudit([audit], jobID: jobID, now: now, db) }
            try Self.insertNotices(followUps, route: nil, now: now, db, platforms: self.platforms)
        }
    }

    public func references(jobID: Int64, platform: String) async throws -> [MessageReference] {
        try await read("read message references") { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM messageRef WHERE jobID = ? AND platform = ?"), arguments: [jobID, platform]).map {
                MessageReference(jobID: $0["jobID"], platform: $0["platform"], role: $0["role"], channel: $0["channel"], ts: $0["ts"], url: $0["url"])
            }
        }
    }

    public func saveReference(_ reference: MessageReference) async throws {
        try await write("save a message reference") { db in try Self.save(reference, db) }
    }

    public func pending(platform: String) async throws -> (count: Int, oldest: Date?) {
        try await read("count pending messages") { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS n, MIN(createdAt) AS oldest FROM notice WHERE platform = ? AND state = 'pending'",
                arguments: [platform])
            return (row?["n"] ?? 0, (row?["oldest"] as Date?))
        }
    }

    public func latest(jobID: Int64, place: Notice.Place) async throws -> Notice? {
        try await read("read job #\(jobID)'s latest message") { db in
            try String.fetchOne(
                db, sql: "SELECT payload FROM notice WHERE jobID = ? AND place = ? ORDER BY id DESC LIMIT 1",
                arguments: [jobID, place.key]
            ).map(NoticeCoding.decode)
        }
    }

    /// Every notice of a job (or all), oldest first, for tests and `coxswain jobs show`.
    public func notices(jobID: Int64? = nil) async throws -> [(notice: Notice, state: String, attempts: Int)] {
        try await read("read messages") { db in
            let rows =
                try jobID.map { try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM notice WHERE jobID = ? ORDER BY id"), arguments: [$0]) }
                ?? Row.fetchAll(db, sql: "SELECT * FROM notice ORDER BY id")
            return try rows.map { (try NoticeCoding.decode($0["payload"]), $0["state"], $0["attempts"]) }
        }
    }

    // MARK: pieces of a transaction

    static func item(_ row: Row, _ db: Database) throws -> OutboxItem {
        let jobID: Int64? = row["jobID"]
        let request = try jobID.flatMap { try JobRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM job WHERE id = ?"), arguments: [$0]) }?.request
        return OutboxItem(
            id: row["id"], notice: try NoticeCoding.decode(row["payload"]), platform: row["platform"], attempts: row["attempts"],
            createdAt: (row["createdAt"] as Date), sendingSince: (row["sendingSince"] as Date?), route: row["route"], request: request)
    }

    /// A replaceable notice (the live message, an approval request) takes the place of an
    /// older undelivered one of the same place: only the newest content matters, and it keeps
    /// the older one's turn, so a live message is still posted before its thread replies.
    /// `postsDue`: when they fall due on a platform that holds new posts back, where not `now`.
    static func insertNotices(
        _ notices: [Notice], route: String?, now: Date, _ db: Database, platforms: [String], postsDue: [String: Date] = [:]
    ) throws {
        for notice in notices {
            let place = notice.place.key
            let payload = try NoticeCoding.encode(notice)
            for platform in platforms {
                if notice.place.isReplaceable, let jobID = notice.jobID {
                    try db.cachedStatement(
                        sql: """
                            UPDATE notice SET payload = ? WHERE jobID = ? AND platform = ? AND place = ? AND state = 'pending' AND sendingSince IS NULL
                            """
                    ).execute(arguments: [payload, jobID, platform, place])
                    if db.changesCount > 0 { continue }
                }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO notice (jobID, platform, place, payload, route, state, attempts, notBefore, createdAt, head)
                        VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?7, ?6, ?1 IS NULL OR NOT EXISTS (
                            SELECT 1 FROM notice WHERE jobID = ?1 AND platform = ?2 AND state = 'pending'))
                        """
                ).execute(arguments: [notice.jobID, platform, place, payload, route, now, postsDue[platform] ?? now])
            }
        }
    }

    /// A notice that stopped being pending hands the turn to its job's next pending one;
    /// true when there was one.
    @discardableResult
    static func passHead(from id: Int64, _ db: Database) throws -> Bool {
        try db.cachedStatement(
            sql: """
                UPDATE notice SET head = 1 WHERE id = (
                    SELECT next.id FROM notice AS done JOIN notice AS next ON next.jobID = done.jobID AND next.platform = done.platform
                    WHERE done.id = ?1 AND done.head = 1 AND next.state = 'pending' ORDER BY next.id LIMIT 1)
                """
        ).execute(arguments: [id])
        let passed = db.changesCount > 0
        try db.cachedStatement(sql: "UPDATE notice SET head = 0 WHERE id = ?").execute(arguments: [id])
        return passed
    }

    static func save(_ reference: MessageReference, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO messageRef (jobID, platform, role, channel, ts, url) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (jobID, platform, role) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, url = COALESCE(excluded.url, url)
                """
        ).execute(arguments: [reference.jobID, reference.platform, reference.role, reference.channel, reference.ts, reference.url])
    }
}
