import Foundation

/// Where a job is in its life. Stored as text; the store's CHECK constraint lists the same
/// values.
public enum JobState: String, Sendable, Codable, CaseIterable {
    case queued
    /// Planned (history read), waiting for the approvals its environment requires.
    case awaitingApproval = "awaiting_approval"
    /// The release changed since the request was accepted; the requester must confirm the new plan.
    case awaitingConfirmation = "awaiting_confirmation"
    case running
    case succeeded
    case failed
    /// Stopped by a crash, a restart or a shutdown between (or during) two steps.
    case interrupted
    /// An approver said no.
    case denied
    /// Nobody approved (or confirmed) in time.
    case expired
    /// Stopped on request before it started or between two steps.
    case cancelled
    /// Nothing to do: another job already did what was asked.
    case superseded

    public var isFinished: Bool { ![.queued, .awaitingApproval, .awaitingConfirmation, .running].contains(self) }
    public var isWaiting: Bool { self == .awaitingApproval || self == .awaitingConfirmation }

    /// "awaiting approval"
    public var words: String { rawValue.replacingOccurrences(of: "_", with: " ") }
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

public enum DurationText {
    /// "850 ms", "4.2 s", "2 min 5 s"
    public static func format(milliseconds ms: Int) -> String {
        if ms < 1000 { return "\(ms) ms" }
        if ms < 60_000 { return String(format: "%.1f s", Double(ms) / 1000) }
        return "\(ms / 60_000) min \((ms % 60_000) / 1000) s"
    }
}
