import Foundation
import GRDB

// The inserts every accepted request makes, as prepared statements with their columns
// spelled out. GRDB's record insert builds its statement and encodes the record through
// `Codable` each time: inside the one write transaction every request waits for, that was
// a third of the time the transaction took. `RecordInsertTests` checks these write what
// the record insert writes.

extension JobRow {
    static let insertSQL = """
        INSERT INTO job (id, version, kind, command, release, environment, namespace, model, requestedBy, channelID, platform,
            requestedRevision, requestedVersion, reason, emergency, overridePromotion, state, planJSON, basisRevision, approvalsRequired,
            approvalRound, lastCompletedStep, outcome, createdAt, startedAt, finishedAt, waitingSince, cancelRequestedBy, acknowledgedBy,
            acknowledgedAt, lastReminderAt, runnerID, claimGeneration, claimHost, claimProcessSpace, claimPID, claimRenewedAt, claimExpiresAt,
            handover)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Inserts the row with the id it has (nil: the next one); sets `id`.
    mutating func insertPrepared(_ db: Database) throws {
        let arguments: StatementArguments = [
            id, version, kind, command, release, environment, namespace, model, requestedBy, channelID, platform,
            requestedRevision, requestedVersion, reason, emergency, overridePromotion, state, planJSON, basisRevision, approvalsRequired,
            approvalRound, lastCompletedStep, outcome, createdAt, startedAt, finishedAt, waitingSince,
            cancelRequestedBy, acknowledgedBy, acknowledgedAt, lastReminderAt, runnerID,
            claimGeneration, claimHost, claimProcessSpace, claimPID, claimRenewedAt, claimExpiresAt, handover,
        ]
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: arguments)
        id = db.lastInsertedRowID
    }
}

extension AuditRow {
    mutating func insertPrepared(_ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO auditEntry (id, seq, at, jobID, actor, event, detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [id, seq, at, jobID, actor, event, detail, hash])
        id = db.lastInsertedRowID
    }
}
