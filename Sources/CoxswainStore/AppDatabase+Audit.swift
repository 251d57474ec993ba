import CoxswainCore
import Foundation
import GRDB

extension AppDatabase: AuditStore {
    /// An audit entry not tied to a job's state change (refusals, CLI changes), with any notices.
    public func append(_ draft: AuditDraft, jobID: Int64?, notices: [Notice], now: Date) async throws {
        try await write("record \(draft.event)") { db in
            try Self.insertAudit([draft], jobID: jobID, now: now, db)
            try Self.insertNotices(notices, route: nil, now: now, db)
        }
    }

    public func tail(limit: Int) async throws -> [AuditEntry] {
        try await read("read the audit trail") { db in
            try AuditRow.fetchAll(db, sql: "SELECT * FROM auditEntry ORDER BY id DESC LIMIT ?", arguments: [limit]).reversed().map(\.entry)
        }
    }

    public func entries(after id: Int64, limit: Int) async throws -> [AuditEntry] {
        try await read("read the audit trail") { db in
            try AuditRow.fetchAll(db, sql: "SELECT * FROM auditEntry WHERE id > ? ORDER BY id LIMIT ?", arguments: [id, limit]).map(\.entry)
        }
    }

    public func entries(jobID: Int64) async throws -> [AuditEntry] {
        try await read("read job #\(jobID)'s audit trail") { db in
            try AuditRow.fetchAll(db, sql: "SELECT * FROM auditEntry WHERE jobID = ? ORDER BY id", arguments: [jobID]).map(\.entry)
        }
    }
}
