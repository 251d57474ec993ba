import CoxswainCore
import Foundation
import PostgresNIO

/// The outbox: notices written with the change they report, delivered by each front end.
/// Taking due notices marks them in the same statement (`FOR UPDATE SKIP LOCKED`), so two
/// replicas never take the same notice.
extension PostgresStore: OutboxStore {

    public func enqueue(_ notices: [Notice], platform: String, route: String?, now: Date) async throws {
        try await write("store \(notices.count) message(s)") { db in try await Self.insertNotices(notices, route: route, now: now, db, platforms: [platform]) }
    }

    public func due(platform: String, now: Date, limit: Int) async throws -> [OutboxItem] {
        let dueBy = Stamp(now.addingTimeInterval(0.001))
        // No look first (as on SQLite): the notifier asks when `nextDue` said one is due, and a
        // take that finds nothing writes nothing, so its commit waits for no flush.
        return try await write("take due messages") { db in
            // The intent is recorded before anything is sent: after a crash these are checked
            // against what the platform shows instead of being sent twice.
            let rows = try await db.rows(
                """
                WITH taken AS (
                    UPDATE notice SET sendingSince = \(dueBy) WHERE id IN (
                        SELECT id FROM notice WHERE platform = \(platform) AND state = 'pending' AND head AND sendingSince IS NULL
                        AND notBefore <= \(dueBy) ORDER BY notBefore, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING *)
                SELECT * FROM taken ORDER BY notBefore, id
                """)
            return try await Self.items(rows, platform: platform, db)
        }
    }

    public func inFlight(platform: String) async throws -> [OutboxItem] {
        try await read("read messages being sent") { db in
            let rows = try await db.rows("SELECT * FROM notice WHERE platform = \(platform) AND state = 'pending' AND sendingSince IS NOT NULL ORDER BY id")
            return try await Self.items(rows, platform: platform, db)
        }
    }

    public func nextDue(platform: String) async throws -> Date? {
        try await look("read when the next message is due") { db in
            try await db.one(
                """
                SELECT notBefore FROM notice WHERE platform = \(platform) AND state = 'pending' AND head AND sendingSince IS NULL
                ORDER BY notBefore LIMIT 1
                """, Stamp.self)?.date
        }
    }

    @discardableResult
    public func delivered(_ id: Int64, reference: MessageReference?, now: Date) async throws -> Bool {
        try await write("record message \(id) as delivered") { db in
            try await Self.lockJob(ofNotice: id, db)
            try await db.run(
                """
                UPDATE notice SET state = 'delivered', deliveredAt = \(Stamp(now)), sendingSince = NULL, attempts = attempts + 1 WHERE id = \(id)
                """)
            let passed = try await Self.passHead(from: id, db)
            if let reference { try await Self.save(reference, db) }
            return passed
        }
    }

    public func retry(_ ids: [Int64], error: String, notBefore: Date, countsAsAttempt: Bool) async throws {
        guard !ids.isEmpty else { return }
        _ = try await writeStatement("schedule \(ids.count) message(s) again") { db in
            try await db.run(
                """
                UPDATE notice SET attempts = attempts + \(countsAsAttempt ? 1 : 0), lastError = \(error), notBefore = \(Stamp(notBefore)),
                sendingSince = NULL WHERE id = ANY(\(ids))
                """)
        }
    }

    public func failed(_ id: Int64, error: String, audit: AuditDraft?, followUps: [Notice], now: Date) async throws {
        try await write("record message \(id) as failed") { db in
            try await Self.lockJob(ofNotice: id, db)
            try await db.run("UPDATE notice SET state = 'failed', attempts = attempts + 1, lastError = \(error), sendingSince = NULL WHERE id = \(id)")
            try await Self.passHead(from: id, db)
            let jobID = try await db.one("SELECT jobID FROM notice WHERE id = \(id)", Int64?.self) ?? nil
            if let audit { try await Self.insertAudit([audit], jobID: jobID, now: now, db) }
            try await Self.insertNotices(followUps, route: nil, now: now, db, platforms: self.platforms)
        }
    }

    public func references(jobID: Int64, platform: String) async throws -> [MessageReference] {
        try await read("read message references") { db in
            try await db.rows("SELECT * FROM messageRef WHERE jobID = \(jobID) AND platform = \(platform) ORDER BY role").map(Self.reference)
        }
    }

    public func saveReference(_ reference: MessageReference) async throws {
        try await write("save a message reference") { db in try await Self.save(reference, db) }
    }

    public func pending(platform: String) async throws -> (count: Int, oldest: Date?) {
        try await read("count pending messages") { db in
            guard
                let row = try await db.rows(
                    "SELECT COUNT(*) AS n, MIN(createdAt) AS oldest FROM notice WHERE platform = \(platform) AND state = 'pending'"
                ).first
            else { return (0, nil) }
            return (try row("n", Int.self), try row.date(ifAny: "oldest"))
        }
    }

    public func latest(jobID: Int64, place: Notice.Place) async throws -> Notice? {
        try await read("read job #\(jobID)'s latest message") { db in
            try await db.one(
                "SELECT payload FROM notice WHERE jobID = \(jobID) AND place = \(place.key) ORDER BY id DESC LIMIT 1", String.self
            ).map(NoticeCoding.decode)
        }
    }

    /// Every notice of a job (or all), oldest first, for tests and `coxswain jobs show`.
    public func notices(jobID: Int64? = nil) async throws -> [(notice: Notice, state: String, attempts: Int)] {
        try await read("read messages") { db in
            let rows =
                if let jobID { try await db.rows("SELECT * FROM notice WHERE jobID = \(jobID) ORDER BY id") } else {
                    try await db.rows("SELECT * FROM notice ORDER BY id")
                }
            return try rows.map { (try NoticeCoding.decode(try $0("payload")), try $0("state"), try $0("attempts", Int.self)) }
        }
    }

    // MARK: pieces of a transaction

    /// Notice rows as the front end takes them, each with its job's request and message
    /// references: two statements for the whole batch, whatever its size (a statement per
    /// notice was most of the notifier's cost; Benchmarks/README.md, "The webhook on PostgreSQL").
    static func items(_ rows: [Fields], platform: String, _ db: PostgresConnection) async throws -> [OutboxItem] {
        let jobIDs = Array(Set(try rows.compactMap { try $0("jobID", Int64?.self) })).sorted()
        var requests: [Int64: JobRequest] = [:]
        var references: [Int64: [MessageReference]] = [:]
        if !jobIDs.isEmpty {
            for row in try await db.rows("SELECT * FROM job WHERE id = ANY(\(jobIDs))") { requests[try row("id")] = try request(row) }
            for row in try await db.rows("SELECT * FROM messageRef WHERE jobID = ANY(\(jobIDs)) AND platform = \(platform) ORDER BY role") {
                references[try row("jobID"), default: []].append(try reference(row))
            }
        }
        return try rows.map { row in
            let jobID = try row("jobID", Int64?.self)
            return OutboxItem(
                id: try row("id"), notice: try NoticeCoding.decode(try row("payload")), platform: try row("platform"), attempts: try row("attempts"),
                createdAt: try row.date("createdAt"), sendingSince: try row.date(ifAny: "sendingSince"), route: try row("route"),
                request: jobID.flatMap { requests[$0] }, references: jobID.map { references[$0] ?? [] })
        }
    }

    static func reference(_ row: Fields) throws -> MessageReference {
        MessageReference(
            jobID: try row("jobID"), platform: try row("platform"), role: try row("role"), channel: try row("channel"), ts: try row("ts"),
            url: try row("url"))
    }

    /// A job's notices are written one transaction at a time (its row locked), so exactly
    /// one of its pending notices is the head.
    static func lockJob(_ jobID: Int64, _ db: PostgresConnection) async throws {
        try await db.run("SELECT id FROM job WHERE id = \(jobID) FOR NO KEY UPDATE")
    }

    static func lockJob(ofNotice id: Int64, _ db: PostgresConnection) async throws {
        if let jobID = try await db.one("SELECT jobID FROM notice WHERE id = \(id)", Int64?.self) ?? nil { try await lockJob(jobID, db) }
    }

    /// A replaceable notice (the live message, an approval request) takes the place of an
    /// older undelivered one of the same place: only the newest content matters, and it keeps
    /// the older one's turn, so a live message is still posted before its thread replies.
    static func insertNotices(_ notices: [Notice], route: String?, now: Date, _ db: PostgresConnection, platforms: [String]) async throws {
        for jobID in Set(notices.compactMap(\.jobID)).sorted() { try await lockJob(jobID, db) }
        for notice in notices {
            let place = notice.place.key
            let payload = try NoticeCoding.encode(notice)
            for platform in platforms {
                if notice.place.isReplaceable, let jobID = notice.jobID {
                    let replaced = try await db.run(
                        """
                        UPDATE notice SET payload = \(payload) WHERE jobID = \(jobID) AND platform = \(platform) AND place = \(place)
                        AND state = 'pending' AND sendingSince IS NULL RETURNING id
                        """)
                    if replaced > 0 { continue }
                }
                // The head unless the job has a pending notice already; one statement, one round trip.
                try await db.run(
                    """
                    INSERT INTO notice (jobID, platform, place, payload, route, state, head, attempts, notBefore, createdAt)
                    SELECT \(notice.jobID)::bigint, \(platform), \(place), \(payload), \(route)::text, 'pending',
                           NOT EXISTS (SELECT 1 FROM notice WHERE jobID = \(notice.jobID)::bigint AND platform = \(platform) AND state = 'pending'),
                           0, \(Stamp(now)), \(Stamp(now))
                    """)
            }
        }
    }

    /// A notice that stopped being pending hands the turn to its job's next pending one;
    /// true when there was one.
    @discardableResult
    static func passHead(from id: Int64, _ db: PostgresConnection) async throws -> Bool {
        let passed = try await db.run(
            """
            UPDATE notice SET head = TRUE WHERE id = (
                SELECT next.id FROM notice AS done JOIN notice AS next ON next.jobID = done.jobID AND next.platform = done.platform
                WHERE done.id = \(id) AND done.head AND next.state = 'pending' ORDER BY next.id LIMIT 1)
            RETURNING id
            """)
        try await db.run("UPDATE notice SET head = FALSE WHERE id = \(id)")
        return passed > 0
    }

    static func save(_ reference: MessageReference, _ db: PostgresConnection) async throws {
        try await db.run(
            """
            INSERT INTO messageRef (jobID, platform, role, channel, ts, url)
            VALUES (\(reference.jobID), \(reference.platform), \(reference.role), \(reference.channel), \(reference.ts), \(reference.url))
            ON CONFLICT (jobID, platform, role) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, url = COALESCE(excluded.url, messageRef.url)
            """)
    }
}
