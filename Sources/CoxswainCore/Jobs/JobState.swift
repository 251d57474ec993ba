import Foundation

/// Where a job is in its life. Stored as text; the store's CHECK constraint lists the same
/// values.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case queued
    /// Planned (history read), waiting for the approvals its environment requires.
    case awaitingApproval = "awaiting_approval"
    case running
    case succeeded
    case failed
    /// Found running at start-up: a crash or restart stopped it between two steps.
    case interrupted
    /// An approver said no.
    case denied
    /// Nobody approved within the environment's approval TTL.
    case expired
    /// Stopped on request before it started or between two steps.
    case cancelled

    public var isFinished: Bool { ![.queued, .awaitingApproval, .running].contains(self) }
}

public enum StepStatus: String, Sendable, Codable, CaseIterable {
    case running, succeeded, failed, skipped

    public var symbol: String {
        switch self {
        case .running: return "⏳"
        case .succeeded: return "✅"
        case .failed: return "❌"
        case .skipped: return "⏭️"
        }
    }
}

/// A job's story so far, independent of the chat platform that will show it.
public struct JobProgress: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var title: String
        public var status: StepStatus?
        public var durationMilliseconds: Int?
        /// One short line after the title: "revision 5 -> 4", "2/2 ready", "812 ms".
        public var note: String?
        public init(title: String, status: StepStatus?, durationMilliseconds: Int? = nil, note: String? = nil) {
            self.title = title; self.status = status; self.durationMilliseconds = durationMilliseconds; self.note = note
        }
    }

    public var jobID: Int64
    public var command: String
    public var release: String
    public var environment: String
    public var namespace: String
    public var requestedBy: String
    public var reason: String?
    public var state: JobState
    public var plan: RollbackPlan?
    public var steps: [Step]
    /// Set when the job ended: the closing lines (result, versions, validation, time).
    public var summary: [String]

    public init(jobID: Int64, command: String, release: String, environment: String, namespace: String,
                requestedBy: String, reason: String?, state: JobState, plan: RollbackPlan?, steps: [Step], summary: [String] = []) {
        self.jobID = jobID; self.command = command; self.release = release; self.environment = environment
        self.namespace = namespace; self.requestedBy = requestedBy; self.reason = reason; self.state = state
        self.plan = plan; self.steps = steps; self.summary = summary
    }

    /// "rollback llama-2-7b-production (production, ns production): revision 5 -> 4"
    public var planLine: String {
        "\(command) \(release) (\(environment), ns \(namespace))" + (plan.map { ": \($0.shortText)" } ?? "")
    }
}

public enum DurationText {
    /// "850 ms", "4.2 s", "2 min 5 s"
    public static func format(milliseconds ms: Int) -> String {
        if ms < 1000 { return "\(ms) ms" }
        if ms < 60_000 { return String(format: "%.1f s", Double(ms) / 1000) }
        return "\(ms / 60_000) min \((ms % 60_000) / 1000) s"
    }
}
