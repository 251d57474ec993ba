import CoxswainCore
import Foundation
import PostgresNIO

/// The audit trail: entries are chained by the database's trigger (`PostgresSchema.auditChain`)
/// whichever statement writes them; here they are read in chain order.
extension PostgresStore: AuditStore {
    public func append(_ draft: AuditDraft, jobID: Int64?, notices: [Notice], now: Date) async throws {
        try await write("record \(draft.event)") { db in
            try await Self.insertAudit([draft], jobID: jobID, now: now, db)
            try await Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
        }
    }

    public func tail(limit: Int) async throws -> [AuditEntry] {
        try await read("read the audit trail") { db in
            try await db.rows("SELECT * FROM auditEntry ORDER BY seq DESC LIMIT \(limit)").reversed().map(Self.auditEntry)
        }
    }

    public func entries(after seq: Int64, limit: Int) async throws -> [AuditEntry] {
        try await read("read the audit trail") { db in
            try await db.rows("SELECT * FROM auditEntry WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)").map(Self.auditEntry)
        }
    }

    public func entries(jobID: Int64) async throws -> [AuditEntry] {
        try await read("read job #\(jobID)'s audit trail") { db in
            try await db.rows("SELECT * FROM auditEntry WHERE jobID = \(jobID) ORDER BY seq").map(Self.auditEntry)
        }
    }

    /// What has committed: the head row is held by a writer until it commits, so the last
    /// committed head is a prefix of the chain with nothing missing below it.
    public func head() async throws -> AuditHead? {
        try await read("read the audit trail's head") { db in
            try await db.rows("SELECT seq, hash FROM auditChainHead").first.flatMap { row -> AuditHead? in
                let seq: Int64 = try row("seq")
                return seq == 0 ? nil : AuditHead(seq: seq, hash: try row("hash"))
            }
        }
    }

    public func lastCheckpoint() async throws -> StoredCheckpoint? {
        try await read("read the last audit checkpoint") { db in
            try await db.rows("SELECT seq, line, previous FROM auditCheckpoint ORDER BY seq DESC LIMIT 1").first.map {
                StoredCheckpoint(seq: try $0("seq"), line: try $0("line"), previous: try $0("previous"))
            }
        }
    }

    public func record(_ checkpoint: StoredCheckpoint, notices: [Notice], now: Date) async throws -> Bool {
        try await write("record an audit checkpoint") { db in
            let inserted = try await db.rows(
                """
                INSERT INTO auditCheckpoint (seq, line, previous, at) VALUES (\(checkpoint.seq), \(checkpoint.line), \(checkpoint.previous), \(Stamp(now)))
                ON CONFLICT DO NOTHING RETURNING seq
                """)
            guard !inserted.isEmpty else { return false }
            try await Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
            return true
        }
    }

    private static func auditEntry(_ row: Fields) throws -> AuditEntry {
        AuditEntry(
            id: try row("id"), seq: try row("seq"), at: try row.date("at"), jobID: try row("jobID"), actor: try row("actor"), event: try row("event"),
            detail: try row("detail"), hash: try row("hash"))
    }
}
