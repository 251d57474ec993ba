import Foundation
import GRDB

/// A message ready to go, with what the notifier needs to send it.
public struct Deliverable: Sendable {
    public var message: OutgoingMessage
    /// The job's live message, for updates and thread replies; nil until it is posted.
    public var liveMessageTS: String?
    /// The job's approval request, for its updates; nil until it is posted.
    public var approvalMessageTS: String?
    /// The job's channel, where live messages and thread replies go.
    public var jobChannel: String?
}

extension AppDatabase {
    /// Pending messages that may be sent now: due, and first in line for their job, so a
    /// job's messages arrive in the order they were written. An update superseded by a
    /// newer update of the same live message is skipped (only the newest text matters).
    public func nextDeliverables(now: Date, limit: Int) async throws -> [Deliverable] {
        try await writer.write { db in
            try db.execute(sql: """
                UPDATE outgoingMessage SET state = 'superseded'
                WHERE state = 'pending' AND kind IN ('update_live', 'update_approval') AND id < (
                    SELECT MAX(newer.id) FROM outgoingMessage AS newer
                    WHERE newer.jobID = outgoingMessage.jobID AND newer.kind = outgoingMessage.kind AND newer.state = 'pending')
                """)
            let rows = try Row.fetchAll(db, sql: """
                SELECT m.*, j.messageTS AS liveTS, j.approvalMessageTS AS approvalTS, j.channelID AS jobChannel
                FROM outgoingMessage AS m LEFT JOIN job AS j ON j.id = m.jobID
                WHERE m.state = 'pending' AND m.notBefore <= ?
                AND NOT EXISTS (SELECT 1 FROM outgoingMessage AS earlier
                                WHERE earlier.state = 'pending' AND earlier.jobID = m.jobID AND earlier.id < m.id)
                ORDER BY m.id LIMIT ?
                """, arguments: [now, limit])
            return try rows.map { row in
                Deliverable(message: try OutgoingMessage(row: row), liveMessageTS: row["liveTS"], approvalMessageTS: row["approvalTS"],
                            jobChannel: row["jobChannel"])
            }
        }
    }

    /// Messages that explain no state change (answers to read-only questions).
    public func enqueueMessages(_ drafts: [OutgoingDraft], jobID: Int64? = nil, now: Date) async throws {
        try await writer.write { db in try Self.insertMessages(drafts, jobID: jobID, now: now, db) }
    }

    /// Marks a message sent; a posted live message's timestamp becomes the job's, so its
    /// updates and thread replies can find it.
    public func markDelivered(messageID: Int64, postedTS: String?, now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE outgoingMessage SET state = 'delivered', deliveredAt = ?, attempts = attempts + 1 WHERE id = ?",
                           arguments: [now, messageID])
            if let postedTS {
                try db.execute(sql: """
                    UPDATE job SET messageTS = ? WHERE id = (SELECT jobID FROM outgoingMessage WHERE id = ? AND kind = 'post_live')
                    """, arguments: [postedTS, messageID])
                try db.execute(sql: """
                    UPDATE job SET approvalMessageTS = ? WHERE id = (SELECT jobID FROM outgoingMessage WHERE id = ? AND kind = 'post_approval')
                    """, arguments: [postedTS, messageID])
            }
        }
    }

    public func scheduleRetry(messageID: Int64, error: String, notBefore: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE outgoingMessage SET attempts = attempts + 1, lastError = ?, notBefore = ? WHERE id = ?",
                           arguments: [error, notBefore, messageID])
        }
    }

    public func markFailed(messageID: Int64, error: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE outgoingMessage SET state = 'failed', attempts = attempts + 1, lastError = ? WHERE id = ?",
                           arguments: [error, messageID])
        }
    }

    public func outgoingMessages(jobID: Int64? = nil) async throws -> [OutgoingMessage] {
        try await writer.read { db in
            var request = OutgoingMessage.order(Column("id"))
            if let jobID { request = request.filter(Column("jobID") == jobID) }
            return try request.fetchAll(db)
        }
    }
}
