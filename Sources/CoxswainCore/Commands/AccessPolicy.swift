import Foundation

/// Who may do what, where: roles grant permissions per environment; users hold roles by
/// Slack user id or through Slack user groups; an environment may accept commands only
/// from some channels. Every decision names the rule behind it, for the audit trail.
public struct AccessPolicy: Sendable {
    public enum Decision: Sendable, Equatable {
        case allowed(rule: String)
        case refused(message: String, rule: String)

        public var isAllowed: Bool { if case .allowed = self { return true } else { return false } }
        public var rule: String {
            switch self { case .allowed(let rule), .refused(_, let rule): return rule }
        }
    }

    private let roles: [String: CoxswainConfiguration.Role]
    private let members: [String: Set<String>]
    private let environments: [String: CoxswainConfiguration.Environment]

    public init(configuration: CoxswainConfiguration) {
        self.roles = configuration.roles
        self.members = configuration.members
        self.environments = configuration.environments
    }

    /// - Parameters:
    ///   - groups: the Slack user groups the user is known to belong to.
    ///   - channel: where the command was typed; nil for checks not tied to a channel.
    public func decide(user: String, groups: Set<String> = [], permission: Permission, environment: String, channel: String?) -> Decision {
        if let channel, let allowed = environments[environment]?.channels, !allowed.contains(channel) {
            return .refused(message: "Commands for `\(environment)` are accepted only from \(allowed.map { "<#\($0)>" }.joined(separator: ", ")). Please use one of those channels.",
                            rule: "environments.\(environment).channels excludes \(channel)")
        }
        if let role = holding(user: user, groups: groups).first(where: { $0.role.grants.contains(permission) && $0.role.environments.contains(environment) }) {
            return .allowed(rule: "role \(role.role.name) grants \(permission.rawValue) in \(environment) (\(role.via))")
        }
        let mine = holding(user: user, groups: groups)
        let whatTheyHave = mine.isEmpty ? "You hold no Coxswain role."
            : "Your roles: " + mine.map { "\($0.role.name) (\($0.role.grants.map(\.rawValue).sorted().joined(separator: ", ")) in \($0.role.environments.sorted().joined(separator: ", ")))" }.joined(separator: "; ") + "."
        return .refused(message: "You (<@\(user)>) may not \(permission.rawValue) in `\(environment)`. \(whatTheyHave) Roles that may: \(rolesGranting(permission, in: environment).joined(separator: ", ").ifEmpty("none")).",
                        rule: "no role of \(user) grants \(permission.rawValue) in \(environment)")
    }

    /// Who to mention when a change in `environment` needs approval.
    public func approvers(environment: String) -> (users: [String], groups: [String]) {
        let approving = roles.values.filter { $0.grants.contains(.approve) && $0.environments.contains(environment) }
        let names = Set(approving.map(\.name))
        let users = members.filter { !$0.value.isDisjoint(with: names) }.keys.sorted()
        return (users, approving.flatMap(\.userGroups).sorted())
    }

    /// Every user group some role names; these are the ones worth resolving.
    public var userGroups: Set<String> { Set(roles.values.flatMap(\.userGroups)) }

    private func holding(user: String, groups: Set<String>) -> [(role: CoxswainConfiguration.Role, via: String)] {
        var held: [(CoxswainConfiguration.Role, String)] = []
        for name in (members[user] ?? []).sorted() { if let role = roles[name] { held.append((role, "member \(user)")) } }
        for role in roles.values.sorted(by: { $0.name < $1.name }) {
            if let group = role.userGroups.first(where: groups.contains), !held.contains(where: { $0.0.name == role.name }) {
                held.append((role, "user group \(group)"))
            }
        }
        return held
    }

    private func rolesGranting(_ permission: Permission, in environment: String) -> [String] {
        roles.values.filter { $0.grants.contains(permission) && $0.environments.contains(environment) && !$0.name.hasPrefix("users:") }
            .map(\.name).sorted()
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
