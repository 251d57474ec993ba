import Foundation

/// Who may do what, where: roles grant permissions per environment; users hold roles by
/// Slack user id or through user groups; an environment may accept commands only from some
/// channels. Every decision names the rule behind it for the audit trail, and a refusal
/// says who may.
public struct AccessPolicy: Sendable {
    public enum Decision: Sendable, Equatable {
        case allowed(rule: String)
        case refused(message: RichText, rule: String)

        public var isAllowed: Bool { if case .allowed = self { return true } else { return false } }
        public var rule: String {
            switch self {
            case .allowed(let rule), .refused(_, let rule): return rule
            }
        }
        public var message: RichText? { if case .refused(let message, _) = self { return message } else { return nil } }
    }

    /// The channel name the console front end uses for the channel rule: an environment that
    /// lists channels accepts commands from the console only if it lists `console` too.
    public static let consoleChannel = "console"

    private let roles: [String: CoxswainConfiguration.Role]
    private let members: [String: Set<String>]
    private let environments: [String: CoxswainConfiguration.Environment]
    /// Where break-glass notices (and approval requests a job's channel refused) are posted:
    /// approving, denying and acknowledging from there is allowed whatever `channels:` lists.
    private let auditChannels: Set<String>

    public init(configuration: CoxswainConfiguration) {
        self.roles = configuration.roles
        self.members = configuration.members
        self.environments = configuration.environments
        auditChannels = Set(
            [configuration.slack.auditChannel, configuration.mattermost?.auditChannel.map { "mattermost:" + $0 }].compactMap { $0 })
    }

    /// - Parameters:
    ///   - groups: the user groups the user is known to belong to now.
    ///   - channel: where the command was typed or the button clicked; nil only for checks
    ///     not tied to a place (an approval re-checked when the job starts).
    public func decide(user: String, groups: Set<String> = [], permission: Permission, environment: String, channel: String?) -> Decision {
        if let channel, let allowed = environments[environment]?.channels, !allowed.contains(channel),
            !(permission == .approve && auditChannels.contains(channel))
        {
            let list = allowed.map { $0 == Self.consoleChannel ? RichText("the console") : RichText("\(channel: $0)") }.joined(separator: ", ")
            return .refused(
                message: "Commands for \(code: environment) are accepted only from \(list). Please use one of those.",
                rule: "environments.\(environment).channels excludes \(channel)")
        }
        let held = holding(user: user, groups: groups)
        if let match = held.first(where: { grants($0.role, permission, in: environment) }) {
            return .allowed(rule: "role \(match.role.name) grants \(permission.rawValue) in \(environment) (\(match.via))")
        }
        let theirs: RichText =
            held.isEmpty
            ? "You hold no Coxswain role."
            : "Your roles: "
                + RichText(
                    held.map { held in
                        "\(held.role.name) (\(held.role.grants.map(\.rawValue).sorted().joined(separator: ", ")) in "
                            + "\(held.role.environments.sorted().joined(separator: ", ")))"
                    }.joined(separator: "; ")) + "."
        return .refused(
            message: "You (\(user: user)) may not \(permission.rawValue) in \(code: environment). " + theirs + " " + whoMay(permission, in: environment),
            rule: "no role of \(user) grants \(permission.rawValue) in \(environment)")
    }

    /// Who to mention when a change in `environment` needs approval.
    public func approvers(environment: String) -> Approvers {
        let approving = roles.values.filter { grants($0, .approve, in: environment) }
        let names = Set(approving.map(\.name))
        let users = members.filter { !$0.value.isDisjoint(with: names) }.keys.sorted()
        return Approvers(users: users, groups: Array(Set(approving.flatMap(\.userGroups))).sorted())
    }

    /// How many different people could approve in `environment`: members, plus one for each
    /// user group (whose size is only known at run time).
    public func possibleApprovers(environment: String) -> Int {
        let approvers = approvers(environment: environment)
        return approvers.users.count + approvers.groups.count
    }

    /// Every user group some role names; these are the ones worth resolving.
    public var userGroups: Set<String> { Set(roles.values.flatMap(\.userGroups)) }

    /// "Roles that may: approver (@U0789CAROL, group S0APPROVERS)."
    public func whoMay(_ permission: Permission, in environment: String) -> RichText {
        let able = roles.values.filter { grants($0, permission, in: environment) }.sorted { $0.name < $1.name }
        guard !able.isEmpty else { return "No role may \(permission.rawValue) in \(code: environment); an administrator must grant it." }
        let parts = able.map { role -> RichText in
            let users = members.filter { $0.value.contains(role.name) }.keys.sorted().map { RichText("\(user: $0)") }
            let groups = role.userGroups.map { RichText("\(group: $0)") }
            let who = (users + groups)
            let name = role.name.hasPrefix("users:") ? "" : role.name + " "
            return who.isEmpty ? RichText(name.trimmingCharacters(in: .whitespaces)) : "\(name)(" + who.joined(separator: ", ") + ")"
        }
        return "Who may: " + parts.joined(separator: "; ") + "."
    }

    private func grants(_ role: CoxswainConfiguration.Role, _ permission: Permission, in environment: String) -> Bool {
        guard role.environments.contains(environment) else { return false }
        if role.grants.contains(permission) { return true }
        // Anyone who may act in an environment may read it, unless it asks for an explicit grant.
        return permission == .read && !(environments[environment]?.readRequiresGrant ?? false)
    }

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
}
