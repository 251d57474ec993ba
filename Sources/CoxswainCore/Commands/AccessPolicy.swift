import Foundation

/// Who may act on which environment. For now the `users:` list of the configuration;
/// roles and approvals build on this decision.
public struct AccessPolicy: Sendable {
    public enum Decision: Sendable, Equatable {
        case allowed(rule: String)
        case refused(message: String, rule: String)
    }

    private let users: [String: Set<String>]

    public init(users: [String: Set<String>]) { self.users = users }

    public func decide(user: String, release: CoxswainConfiguration.Release) -> Decision {
        guard let allowed = users[user] else {
            return .refused(message: "You (<@\(user)>) are not listed in Coxswain's `users:`, so you may not act on any environment. Ask an admin to add your Slack user id \(user).",
                            rule: "users: \(user) not listed")
        }
        guard allowed.contains(release.environment) else {
            let list = allowed.sorted().joined(separator: ", ")
            return .refused(message: "You (<@\(user)>) may not act on `\(release.environment)`, where `\(release.name)` runs. You may act on: \(list.isEmpty ? "no environment" : list).",
                            rule: "users.\(user) lacks \(release.environment)")
        }
        return .allowed(rule: "users.\(user) includes \(release.environment)")
    }
}
