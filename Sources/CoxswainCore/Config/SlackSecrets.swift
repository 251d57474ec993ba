import Foundation

/// The two Slack secrets, read from the environment or from files named by it, never from
/// the configuration file or the repository. `description` never prints them.
public struct SlackSecrets: Sendable, CustomStringConvertible {
    public let signingSecret: String
    public let botToken: String

    public init(signingSecret: String, botToken: String) {
        self.signingSecret = signingSecret
        self.botToken = botToken
    }

    public var description: String { "SlackSecrets(signing secret: \(signingSecret.count) chars, bot token: \(botToken.count) chars)" }

    public struct MissingSecret: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads `SLACK_SIGNING_SECRET` / `SLACK_BOT_TOKEN`, or `…_FILE` pointing at a file that
    /// holds the value (Kubernetes secrets mounted as files).
    public static func load(from environment: [String: String]) throws -> SlackSecrets {
        func read(_ name: String) throws -> String {
            if let value = environment[name], !value.isEmpty { return value }
            if let path = environment["\(name)_FILE"], !path.isEmpty {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw MissingSecret(description: "\(name)_FILE points at \(path), which cannot be read")
                }
                let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !value.isEmpty else { throw MissingSecret(description: "\(name)_FILE points at \(path), which is empty") }
                return value
            }
            throw MissingSecret(description: "\(name) is not set: export \(name)=… or \(name)_FILE=/path/to/file (Slack app settings → Basic Information / OAuth & Permissions)")
        }
        return SlackSecrets(signingSecret: try read("SLACK_SIGNING_SECRET"), botToken: try read("SLACK_BOT_TOKEN"))
    }
}
