import CoxswainCore
import Foundation

/// What to create in Mattermost (Integrations → Slash Commands → Add Slash Command), one block
/// per command: Mattermost has no app manifest, so this is the checklist. Each command gets a
/// token of its own; all of them go into `MATTERMOST_COMMAND_TOKENS`.
public enum MattermostCommandList {
    public static func render(baseURL: String, commands: [CommandDescription]) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        var lines = [
            "# Mattermost: Integrations → Slash Commands → Add Slash Command, once per command below.",
            "# Request URL for every one: \(base)/mattermost/commands (method POST); buttons post to \(base)/mattermost/actions.",
            "# Put each command's token into MATTERMOST_COMMAND_TOKENS (comma-separated) and restart Coxswain.",
            "",
        ]
        for command in commands {
            lines += [
                "- trigger_word: \(command.command.drop { $0 == "/" })",
                "  title: \(command.description)",
                "  request_url: \(base)/mattermost/commands",
                "  method: POST",
                "  autocomplete: true",
                "  autocomplete_hint: \"\(command.usageHint.replacingOccurrences(of: "\"", with: "'"))\"",
                "  autocomplete_description: \"\(command.description.replacingOccurrences(of: "\"", with: "'"))\"",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
