import Foundation
import GRDB

extension AppDatabase {
    /// An audit entry not tied to a job state change (refusals, CLI registry changes).
    public func appendAudit(_ draft: AuditDraft, jobID: Int64? = nil, now: Date, messages: [OutgoingDraft] = []) async throws {
        try await writer.write { db in
            try Self.insertMessages(messages, jobID: jobID, now: now, db)
            try Self.insertAudit([draft], jobID: jobID, now: now, db)
        }
    }

    /// The newest `limit` entries, oldest first.
    public func auditTail(limit: Int) async throws -> [AuditEntry] {
        try await writer.read { db in
            try AuditEntry.order(Column("id").desc).limit(limit).fetchAll(db).reversed()
        }
    }

    /// Entries after `afterID`, oldest first, in pages.
    public func auditEntries(afterID: Int64, limit: Int) async throws -> [AuditEntry] {
        try await writer.read { db in
            try AuditEntry.filter(Column("id") > afterID).order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    public func auditEntries(jobID: Int64) async throws -> [AuditEntry] {
        try await writer.read { db in try AuditEntry.filter(Column("jobID") == jobID).order(Column("id")).fetchAll(db) }
    }
}
