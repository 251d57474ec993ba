import Foundation
import GRDB
import CoxswainCore

/// A row of `job`: one slash command's work.
public struct JobRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "job"
    public var id: Int64?
    public var command: String
    public var release: String
    public var environment: String
    public var namespace: String
    public var model: String
    public var requestedBy: String
    public var channelID: String
    public var responseURL: String?
    public var requestedRevision: Int?
    public var reason: String?
    public var state: JobState
    public var planJSON: String?
    public var lastCompletedStep: String?
    public var messageTS: String?
    public var outcome: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Distinct approvals needed before the job may change anything (0: none).
    public var approvalsRequired: Int = 0
    /// When the job started waiting for approval (for the TTL).
    public var approvalRequestedAt: Date?
    /// The approval request message, updated in place with the decision.
    public var approvalMessageTS: String?
    /// Break-glass: no approval, `--wait=false`, acknowledged afterwards.
    public var emergency: Bool = false
    public var acknowledgedBy: String?
    public var acknowledgedAt: Date?
    public var lastReminderAt: Date?
    /// Set by `/cancel` on a running job; the worker stops before the next step.
    public var cancelRequestedBy: String?
    /// `/upgrade`: the version asked for, as typed.
    public var requestedVersion: String?
    /// `/upgrade --override-promotion` by an approver.
    public var overridePromotion: Bool = false

    public enum Columns {
        static let id = Column(CodingKeys.id), release = Column(CodingKeys.release), state = Column(CodingKeys.state)
        static let createdAt = Column(CodingKeys.createdAt)
    }

    public init(command: String, release: String, environment: String, namespace: String, model: String,
                requestedBy: String, channelID: String, responseURL: String?, requestedRevision: Int?,
                reason: String?, createdAt: Date) {
        self.command = command; self.release = release; self.environment = environment; self.namespace = namespace
        self.model = model; self.requestedBy = requestedBy; self.channelID = channelID; self.responseURL = responseURL
        self.requestedRevision = requestedRevision; self.reason = reason; self.state = .queued; self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var plan: RollbackPlan? {
        planJSON.flatMap { try? JSONDecoder().decode(RollbackPlan.self, from: Data($0.utf8)) }
    }
}

public struct JobStepRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "jobStep"
    public var id: Int64?
    public var jobID: Int64
    public var position: Int
    public var action: String
    public var title: String
    public var status: StepStatus
    public var note: String?
    public var detail: String?
    public var startedAt: Date
    public var finishedAt: Date?

    public init(id: Int64?, jobID: Int64, position: Int, action: String, title: String, status: StepStatus,
                note: String?, detail: String?, startedAt: Date, finishedAt: Date?) {
        self.id = id; self.jobID = jobID; self.position = position; self.action = action; self.title = title
        self.status = status; self.note = note; self.detail = detail; self.startedAt = startedAt; self.finishedAt = finishedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var durationMilliseconds: Int? {
        finishedAt.map { Int(($0.timeIntervalSince(startedAt) * 1000).rounded()) }
    }
}

/// One person's decision on one plan of a job.
public struct ApprovalRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "approval"
    public enum Decision: String, Codable, Sendable { case approve, deny }
    public var id: Int64?
    public var jobID: Int64
    public var user: String
    public var decision: Decision
    public var planJSON: String
    public var reason: String?
    public var at: Date
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

public struct AuditEntry: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "auditEntry"
    public var id: Int64?
    public var at: Date
    public var jobID: Int64?
    public var actor: String
    public var event: String
    public var detail: String

    public init(at: Date, jobID: Int64?, actor: String, event: String, detail: String) {
        self.at = at; self.jobID = jobID; self.actor = actor; self.event = event; self.detail = detail
    }
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// What API routers read to decide where traffic may go.
public struct RegistryEntry: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "registryEntry"
    public enum Status: String, Codable, Sendable { case ready, disabled }
    public var model: String
    public var environment: String
    public var release: String
    public var endpoint: String
    public var status: Status
    public var updatedAt: Date
    public var updatedBy: String
}

/// A message waiting for (or done with) delivery to the chat platform.
public struct OutgoingMessage: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outgoingMessage"
    public enum Kind: String, Codable, Sendable {
        /// The job's one live message, posted once…
        case postLive = "post_live"
        /// …then updated in place.
        case updateLive = "update_live"
        /// Details, in the live message's thread.
        case threadReply = "thread_reply"
        /// A plain message to a channel (the audit channel).
        case post
        /// A reply only the requester sees, through the command's response URL.
        case ephemeral
        /// The approval request (plan, Approve/Deny buttons), posted once…
        case postApproval = "post_approval"
        /// …and updated with the decision.
        case updateApproval = "update_approval"
    }
    public enum State: String, Codable, Sendable { case pending, delivered, superseded, failed }

    public var id: Int64?
    public var jobID: Int64?
    public var kind: Kind
    public var channel: String?
    public var responseURL: String?
    public var text: String
    public var blocksJSON: String?
    public var state: State
    public var attempts: Int
    public var notBefore: Date
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A message a store write hands to the notifier, in the same transaction.
public struct OutgoingDraft: Sendable, Equatable {
    public var kind: OutgoingMessage.Kind
    public var channel: String?
    public var responseURL: String?
    public var text: String
    public var blocksJSON: String?

    public init(kind: OutgoingMessage.Kind, channel: String? = nil, responseURL: String? = nil, text: String, blocksJSON: String? = nil) {
        self.kind = kind; self.channel = channel; self.responseURL = responseURL; self.text = text; self.blocksJSON = blocksJSON
    }
}
