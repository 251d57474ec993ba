import Foundation

/// What a role may do in an environment.
public enum Permission: String, Sendable, CaseIterable, Codable {
    /// Start a rollback.
    case rollback
    /// Start an upgrade.
    case upgrade
    /// Approve or deny someone else's change, and acknowledge a break-glass rollback.
    case approve
    /// Cancel a job that has not finished (their own jobs need only the right to start them).
    case cancel
    /// Break-glass: roll back without approval, with a mandatory reason.
    case emergency
}
