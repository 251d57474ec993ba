import Foundation

/// What a job does to its release.
public enum JobKind: String, Sendable, Codable, CaseIterable {
    case rollback, upgrade
}

/// What someone asked for: fixed when the request is accepted, never changed after.
public struct JobRequest: Sendable, Equatable, Codable {
    public var kind: JobKind
    /// The command as its runbook names it (`/rollback`, `/cx-rollback`).
    public var command: String
    public var release: String
    public var environment: String
    public var namespace: String
    public var model: String
    public var requestedBy: String
    /// Where it was asked: a chat channel id, or empty when it came from the console.
    public var channel: String
    /// The front end it came from: `slack`, `console`.
    public var platform: String
    /// A rollback target the requester named.
    public var revision: Int?
    /// An upgrade's version, as typed.
    public var version: String?
    public var reason: String?
    /// Break-glass: no approval, no waiting inside helm, acknowledged afterwards.
    public var emergency: Bool
    /// `/upgrade --override-promotion` by an approver.
    public var overridePromotion: Bool

    public init(
        kind: JobKind, command: String, release: String, environment: String, namespace: String, model: String,
        requestedBy: String, channel: String, platform: String, revision: Int? = nil, version: String? = nil,
        reason: String? = nil, emergency: Bool = false, overridePromotion: Bool = false
    ) {
        self.kind = kind; self.command = command; self.release = release; self.environment = environment
        self.namespace = namespace; self.model = model; self.requestedBy = requestedBy; self.channel = channel
        self.platform = platform; self.revision = revision; self.version = version; self.reason = reason
        self.emergency = emergency; self.overridePromotion = overridePromotion
    }

    /// `rollback`, `upgrade`: the command without its slash or prefix, for messages.
    public var verb: String { kind.rawValue }
}

/// One runbook step of a job, as recorded.
public struct JobStep: Sendable, Equatable, Codable {
    public var position: Int
    public var action: String
    public var title: String
    public var status: StepStatus
    /// The short line after the title: "revision 5 -> 4", "2/2 ready".
    public var note: String?
    /// Longer output, kept for `coxswain jobs show`.
    public var detail: String?
    public var startedAt: Date
    public var finishedAt: Date?

    public init(
        position: Int, action: String, title: String, status: StepStatus, note: String? = nil, detail: String? = nil,
        startedAt: Date, finishedAt: Date? = nil
    ) {
        self.position = position; self.action = action; self.title = title; self.status = status
        self.note = note; self.detail = detail; self.startedAt = startedAt; self.finishedAt = finishedAt
    }

    public var durationMilliseconds: Int? {
        finishedAt.map { Int(($0.timeIntervalSince(startedAt) * 1000).rounded()) }
    }
}

/// One person's decision on one plan of a job. An approval counts only for the plan it
/// was given for.
public struct Approval: Sendable, Equatable, Codable {
    public enum Decision: String, Sendable, Codable { case approve, deny }
    public var user: String
    public var decision: Decision
    /// The plan's canonical JSON (`RollbackPlan.json`).
    public var plan: String
    public var reason: String?
    public var at: Date

    public init(user: String, decision: Decision, plan: String, reason: String?, at: Date) {
        self.user = user; self.decision = decision; self.plan = plan; self.reason = reason; self.at = at
    }
}

/// A job and everything the domain decides about it. The store loads and saves it whole;
/// `version` makes concurrent changes detectable (optimistic concurrency).
public struct Job: Sendable, Equatable {
    public var id: Int64
    public var version: Int
    public var request: JobRequest
    public var state: JobState
    public var plan: RollbackPlan?
    /// The release's revision when the request was accepted: what the requester saw.
    public var basisRevision: Int?
    /// Distinct approvals needed before the job may change anything (0: none).
    public var approvalsRequired: Int
    public var approvals: [Approval]
    /// How many approval or confirmation requests the job has posted; each is its own message.
    public var approvalRound: Int
    /// People whose identical request joined this job; they hear how it ends.
    public var followers: [String]
    public var steps: [JobStep]
    public var lastCompletedStep: String?
    public var outcome: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// When it started waiting for approval or confirmation (for the TTL).
    public var waitingSince: Date?
    public var cancelRequestedBy: String?
    public var acknowledgedBy: String?
    public var acknowledgedAt: Date?
    public var lastReminderAt: Date?
    /// The server that runs (or last ran) it.
    public var runnerID: String?
    /// The running job's claim: who holds it, until when, in which generation.
    public var claim: RunnerClaim?
    /// "taken over by replica coxswain-2 (pid 1) after 31 s": said on the live message.
    public var handover: String?

    public init(
        id: Int64, version: Int = 0, request: JobRequest, state: JobState = .queued, plan: RollbackPlan? = nil,
        basisRevision: Int? = nil, approvalsRequired: Int = 0, approvals: [Approval] = [], approvalRound: Int = 0, followers: [String] = [],
        steps: [JobStep] = [], lastCompletedStep: String? = nil, outcome: String? = nil, createdAt: Date,
        startedAt: Date? = nil, finishedAt: Date? = nil, waitingSince: Date? = nil, cancelRequestedBy: String? = nil,
        acknowledgedBy: String? = nil, acknowledgedAt: Date? = nil, lastReminderAt: Date? = nil, runnerID: String? = nil,
        claim: RunnerClaim? = nil, handover: String? = nil
    ) {
        self.id = id; self.version = version; self.request = request; self.state = state; self.plan = plan
        self.basisRevision = basisRevision; self.approvalsRequired = approvalsRequired; self.approvals = approvals
        self.approvalRound = approvalRound
        self.followers = followers; self.steps = steps; self.lastCompletedStep = lastCompletedStep; self.outcome = outcome
        self.createdAt = createdAt; self.startedAt = startedAt; self.finishedAt = finishedAt; self.waitingSince = waitingSince
        self.cancelRequestedBy = cancelRequestedBy; self.acknowledgedBy = acknowledgedBy; self.acknowledgedAt = acknowledgedAt
        self.lastReminderAt = lastReminderAt; self.runnerID = runnerID
        self.claim = claim; self.handover = handover
    }

    /// Approvals of the current plan, oldest first.
    public var currentApprovals: [Approval] {
        guard let plan = plan?.json else { return [] }
        return approvals.filter { $0.plan == plan && $0.decision == .approve }
    }

    /// "rollback llama-2-7b-production (production, ns production): revision 5 -> 4"
    public var planLine: String {
        "\(request.verb) \(request.release) (\(request.environment), ns \(request.namespace))" + (plan.map { ": \($0.shortText)" } ?? "")
    }

    /// Everyone who should hear how the job ends: the requester, then the followers.
    public var audience: [String] { [request.requestedBy] + followers.filter { $0 != request.requestedBy } }
}
