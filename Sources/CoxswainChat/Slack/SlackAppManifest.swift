import Foundation
import CoxswainCore

/// A Slack app manifest (YAML) declaring every slash command, the interactivity URL and
/// the scopes Coxswain needs, so creating the app is one paste
/// (api.slack.com/apps → Create New App → From an app manifest).
public enum SlackAppManifest {
    /// What the bot needs: post and update (`chat:write`), direct messages once a response
    /// URL has expired (`im:write`), slash commands, user groups for roles, and reading its
    /// channels (membership for `coxswain doctor`, recent posts to recognise one already sent
    /// when a crash interrupted the sending).
    public static let botScopes = [
        "chat:write", "commands", "im:write", "usergroups:read", "channels:read", "groups:read",
        "channels:history", "groups:history",
    ]

    /// - Parameter baseURL: where Slack posts requests; nil for Socket Mode, where Coxswain
    ///   connects to Slack and the manifest names no request URL.
    public static func render(baseURL: String?, commands: [CommandDescription], appName: String = "Coxswain") -> String {
        let base = baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        var lines = [
            "display_information:",
            "  name: \(quote(appName))",
            "  description: \(quote("Chat-ops for vLLM model deployments: rollbacks with approvals, validation and an audit trail"))",
            "features:",
            "  bot_user:",
            "    display_name: \(quote(appName.lowercased()))",
            "    always_online: true",
            "  slash_commands:",
        ]
        for command in commands {
            lines.append("    - command: \(quote(command.command))")
            if let base { lines.append("      url: \(quote(base + "/slack/commands"))") }
            lines += [
                "      description: \(quote(String(command.description.prefix(100))))",
                "      usage_hint: \(quote(String(command.usageHint.prefix(100))))",
                "      should_escape: false",
            ]
        }
        lines +=
            [
                "oauth_config:",
                "  scopes:",
                "    bot:",
            ] + botScopes.map { "      - \($0)" } + [
                "settings:",
                "  interactivity:",
                "    is_enabled: true",
            ] + (base.map { ["    request_url: \(quote($0 + "/slack/interactions"))"] } ?? []) + [
                "  org_deploy_enabled: false",
                "  socket_mode_enabled: \(base == nil)",
                "  token_rotation_enabled: false",
            ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// A double-quoted YAML scalar (JSON string syntax is valid YAML).
    private static func quote(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }
}
