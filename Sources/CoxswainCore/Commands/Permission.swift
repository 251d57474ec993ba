import Foundation

/// What a role may do in an environment.
public enum Permission: String, Sendable, CaseIterable, Codable {
    /// Read-only commands: history, status, releases, jobs. Every role in an environment
    /// grants it there unless the environment sets `read_requires_grant: true`.
    case read
    /// Start a rollback.
    case rollback
    /// Start an upgrade.
    case upgrade
    /// Approve or deny someone else's change, and acknowledge a break-glass rollback.
    case approve
    /// Cancel someone else's job (requesters may always cancel their own).
    case cancel
    /// Break-glass: roll back without approval, with a mandatory reason.
    case emergency
}
