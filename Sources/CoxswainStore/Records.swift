import CoxswainCore
import Foundation
import GRDB

/// A row of `job`. The domain's `Job` is assembled from it, its steps, approvals and followers.
struct JobRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "job"
    var id: Int64?
    var version: Int
    var kind: JobKind
    var command: String
    var release: String
    var environment: String
    var namespace: String
    var model: String
    var requestedBy: String
    var channelID: String
    var platform: String
    var requestedRevision: Int?
    var requestedVersion: String?
    var reason: String?
    var emergency: Bool
    var overridePromotion: Bool
    var state: JobState
    var planJSON: String?
    var basisRevision: Int?
    var approvalsRequired: Int
    var approvalRound: Int
    var lastCompletedStep: String?
    var outcome: String?
    var createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    var waitingSince: Date?
    var cancelRequestedBy: String?
    var acknowledgedBy: String?
    var acknowledgedAt: Date?
    var lastReminderAt: Date?
    var runnerID: String?
    var claimGeneration: Int?
    var claimHost: String?
    var claimProcessSpace: String?
    var claimPID: Int?
    var claimRenewedAt: Date?
    var claimExpiresAt: Date?
    var handover: String?

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    init(_ job: Job) {
        let r = job.request
        id = job.id == 0 ? nil : job.id
        version = job.version; kind = r.kind; command = r.command; release = r.release; environment = r.environment
        namespace = r.namespace; model = r.model; requestedBy = r.requestedBy; channelID = r.channel; platform = r.platform
        requestedRevision = r.revision; requestedVersion = r.version; reason = r.reason; emergency = r.emergency
        overridePromotion = r.overridePromotion; state = job.state; planJSON = job.plan?.json; basisRevision = job.basisRevision
        approvalsRequired = job.approvalsRequired; approvalRound = job.approvalRound; lastCompletedStep = job.lastCompletedStep
        outcome = job.outcome; createdAt = job.createdAt; startedAt = job.startedAt; finishedAt = job.finishedAt
        waitingSince = job.waitingSince; cancelRequestedBy = job.cancelRequestedBy; acknowledgedBy = job.acknowledgedBy
        acknowledgedAt = job.acknowledgedAt; lastReminderAt = job.lastReminderAt; runnerID = job.runnerID
        claimGeneration = job.claim?.generation; claimHost = job.claim?.runner.host; claimProcessSpace = job.claim?.runner.processSpace
        claimPID = job.claim?.runner.pid; claimRenewedAt = job.claim?.renewedAt; claimExpiresAt = job.claim?.expiresAt; handover = job.handover
    }

    var request: JobRequest {
        JobRequest(
            kind: kind, command: command, release: release, environment: environment, namespace: namespace, model: model,
            requestedBy: requestedBy, channel: channelID, platform: platform, revision: requestedRevision, version: requestedVersion,
            reason: reason, emergency: emergency, overridePromotion: overridePromotion)
    }

    func job(steps: [JobStep], approvals: [Approval], followers: [String]) -> Job {
        Job(
            id: id ?? 0, version: version, request: request, state: state, plan: planJSON.flatMap(RollbackPlan.init(json:)),
            basisRevision: basisRevision, approvalsRequired: approvalsRequired, approvals: approvals, approvalRound: approvalRound,
            followers: followers, steps: steps, lastCompletedStep: lastCompletedStep, outcome: outcome, createdAt: createdAt,
            startedAt: startedAt, finishedAt: finishedAt, waitingSince: waitingSince, cancelRequestedBy: cancelRequestedBy,
            acknowledgedBy: acknowledgedBy, acknowledgedAt: acknowledgedAt, lastReminderAt: lastReminderAt, runnerID: runnerID,
            claim: claim, handover: handover)
    }

    var claim: RunnerClaim? {
        guard let claimGeneration, let runnerID, let claimHost, let claimProcessSpace, let claimPID, let claimRenewedAt, let claimExpiresAt else {
            return nil
        }
        let runner = RunnerIdentity(id: runnerID, host: claimHost, processSpace: claimProcessSpace, pid: claimPID)
        return RunnerClaim(generation: claimGeneration, runner: runner, renewedAt: claimRenewedAt, expiresAt: claimExpiresAt)
    }
}

struct JobStepRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "jobStep"
    var id: Int64?
    var jobID: Int64
    var position: Int
    var action: String
    var title: String
    var status: StepStatus
    var note: String?
    var detail: String?
    var startedAt: Date
    var finishedAt: Date?

    init(_ step: JobStep, jobID: Int64) {
        self.jobID = jobID; position = step.position; action = step.action; title = step.title; status = step.status
        note = step.note; detail = step.detail; startedAt = step.startedAt; finishedAt = step.finishedAt
    }

    var step: JobStep {
        JobStep(position: position, action: action, title: title, status: status, note: note, detail: detail, startedAt: startedAt, finishedAt: finishedAt)
    }
}

struct ApprovalRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "approval"
    var id: Int64?
    var jobID: Int64
    var user: String
    var decision: Approval.Decision
    var planJSON: String
    var reason: String?
    var at: Date

    var approval: Approval { Approval(user: user, decision: decision, plan: planJSON, reason: reason, at: at) }
}

struct RegistryRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "registryEntry"
    var model: String
    var environment: String
    var release: String
    var endpoint: String
    var status: RegistryStatus
    var updatedAt: Date
    var updatedBy: String

    var entry: RegistryEntry {
        RegistryEntry(model: model, environment: environment, release: release, endpoint: endpoint, status: status, updatedAt: updatedAt, updatedBy: updatedBy)
    }
}

struct AuditRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "auditEntry"
    var id: Int64?
    var seq: Int64
    var at: Date
    var jobID: Int64?
    var actor: String
    var event: String
    var detail: String
    var hash: String

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
    var entry: AuditEntry { AuditEntry(id: id ?? 0, seq: seq, at: at, jobID: jobID, actor: actor, event: event, detail: detail, hash: hash) }
}

extension JobKind: DatabaseValueConvertible {}
extension JobState: DatabaseValueConvertible {}
extension StepStatus: DatabaseValueConvertible {}
extension RegistryStatus: DatabaseValueConvertible {}
extension Approval.Decision: DatabaseValueConvertible {}
