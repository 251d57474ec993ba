import CoxswainCore
import Foundation
import GRDB

extension AppDatabase: AuditStore {
    /// An audit entry not tied to a job's state change (refusals, CLI changes), with any notices.
    public func append(_ draft: AuditDraft, jobID: Int64?, notices: [Notice], now: Date) async throws {
        try await write("record \(draft.event)") { db in
            try Self.insertAudit([draft], jobID: jobID, now: now, db)
            try Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
        }
    }

    public func tail(limit: Int) async throws -> [AuditEntry] {
        try await read("read the audit trail") { db in
            try AuditRow.fetchAll(db, sql: "SELECT * FROM auditEntry ORDER BY seq DESC LIMIT ?", arguments: [limit]).reversed().map(\.entry)
        }
    }

    public func entries(after seq: Int64, limit: Int) async throws -> [AuditEntry] {
        try await read("read the audit trail") { db in
            try AuditRow.fetchAll(db, sql: "SELECT * FROM auditEntry WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit]).map(\.entry)
        }
    }

    public func entries(jobID: Int64) async throws -> [AuditEntry] {
        try await read("read job #\(jobID)'s audit trail") { db in
            try AuditRow.fetchAll(db, sql: "SELECT * FROM auditEntry WHERE jobID = ? ORDER BY seq", arguments: [jobID]).map(\.entry)
        }
    }

    public func head() async throws -> AuditHead? {
        try await read("read the audit trail's head") { db in try Self.auditHead(db) }
    }

    public func lastCheckpoint() async throws -> StoredCheckpoint? {
        try await read("read the last audit checkpoint") { db in
            try Row.fetchOne(db, sql: "SELECT seq, line, previous FROM auditCheckpoint ORDER BY seq DESC LIMIT 1").map {
                StoredCheckpoint(seq: $0["seq"], line: $0["line"], previous: $0["previous"])
            }
        }
    }

    public func record(_ checkpoint: StoredCheckpoint, notices: [Notice], now: Date) async throws -> Bool {
        try await write("record an audit checkpoint") { db in
            try db.execute(
                sql: "INSERT INTO auditCheckpoint (seq, line, previous, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [checkpoint.seq, checkpoint.line, checkpoint.previous, now])
            guard db.changesCount == 1 else { return false }
            try Self.insertNotices(notices, route: nil, now: now, db, platforms: self.platforms)
            return true
        }
    }
}
