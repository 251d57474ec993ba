import Foundation

/// A change someone asks for: a rollback or an upgrade, through a runbook's command.
public struct ChangeRequest: Sendable, Equatable {
    public var kind: JobKind
    /// The runbook's command (`/rollback`, `/cx-rollback`): the runbook the job follows.
    public var command: String
    public var release: String
    /// A rollback's named target revision; nil: the last good one.
    public var revision: Int?
    /// An upgrade's version.
    public var version: UpgradeVersion?
    public var reason: String?
    /// Break-glass: no approval, no waiting inside helm, audited loudly, acknowledged afterwards.
    public var emergency: Bool
    /// `--override-promotion` (approvers only).
    public var overridePromotion: Bool

    public init(
        kind: JobKind, command: String, release: String, revision: Int? = nil, version: UpgradeVersion? = nil,
        reason: String? = nil, emergency: Bool = false, overridePromotion: Bool = false
    ) {
        self.kind = kind; self.command = command; self.release = release; self.revision = revision; self.version = version
        self.reason = reason; self.emergency = emergency; self.overridePromotion = overridePromotion
    }

    public static func rollback(
        _ release: String, revision: Int? = nil, reason: String? = nil, emergency: Bool = false,
        command: String = "/rollback"
    ) -> ChangeRequest {
        ChangeRequest(kind: .rollback, command: command, release: release, revision: revision, reason: reason, emergency: emergency)
    }
}

/// A read-only question: answered without approval, only to the asker unless `--public`.
public enum Query: Sendable, Equatable {
    case history(release: String)
    case status(release: String)
    case releases(environment: String?)
    case jobs(release: String?)

    /// Whether answering it needs the cluster (so it is answered in the background).
    public var needsCluster: Bool {
        switch self {
        case .history, .status, .releases: return true
        case .jobs: return false
        }
    }
}

/// A command after parsing, independent of the front end it came from.
public enum ParsedCommand: Sendable, Equatable {
    case change(ChangeRequest)
    case approve(jobID: Int64)
    case deny(jobID: Int64, reason: String?)
    /// The requester confirms a job's new plan after the release changed.
    case confirm(jobID: Int64)
    case cancel(jobID: Int64)
    /// An approver acknowledges a break-glass rollback afterwards.
    case acknowledge(jobID: Int64)
    case query(Query, public: Bool)
    /// Watch a release on Prometheus now, for `duration` (nil: the environment's), verdicts in the channel.
    case watch(release: String, duration: GoDuration?)
    /// Put back the GitOps sync a change suspended (`--force`: even though Argo CD says Git differs).
    case resumeSync(release: String, force: Bool)
    /// `help` or an empty command: the usage, nothing started.
    case help(String)
}

/// A command that could not be parsed. `message` is shown as is: what was wrong, what is
/// accepted, and an example.
public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
