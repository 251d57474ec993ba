import Foundation

/// A value that must never be printed or logged, at any level: its description, debug
/// description and reflection all say `<redacted>`. Code that needs the value asks for it
/// by name (`reveal()`), so every use is visible in review.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String
    public init(_ value: String) { self.value = value }
    public func reveal() -> String { value }
    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// The Slack secrets, read from the environment or from files named by it, never from the
/// configuration file or the repository.
public struct SlackSecrets: Sendable, CustomStringConvertible {
    public let signingSecret: Secret
    public let botToken: Secret

    public init(signingSecret: String, botToken: String) {
        self.signingSecret = Secret(signingSecret)
        self.botToken = Secret(botToken)
    }

    public var description: String { "SlackSecrets(<redacted>)" }

    /// The variables that carry them; never passed on to helm or kubectl.
    public static let variableNames = ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]

    public struct MissingSecret: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads `SLACK_SIGNING_SECRET` / `SLACK_BOT_TOKEN`, or `…_FILE` pointing at a file that
    /// holds the value (Kubernetes secrets mounted as files).
    public static func load(from environment: [String: String]) throws -> SlackSecrets {
        SlackSecrets(
            signingSecret: try read("SLACK_SIGNING_SECRET", from: environment).reveal(),
            botToken: try read("SLACK_BOT_TOKEN", from: environment).reveal())
    }

    public static func read(_ name: String, from environment: [String: String]) throws -> Secret {
        if let value = environment[name], !value.isEmpty { return Secret(value) }
        if let path = environment["\(name)_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw MissingSecret(description: "\(name)_FILE points at \(path), which cannot be read")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw MissingSecret(description: "\(name)_FILE points at \(path), which is empty") }
            return Secret(value)
        }
        throw MissingSecret(
            description: "\(name) is not set: export \(name)=… or \(name)_FILE=/path/to/file "
                + "(Slack app settings → Basic Information / OAuth & Permissions)")
    }
}
