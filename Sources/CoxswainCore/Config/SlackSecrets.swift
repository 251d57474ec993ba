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
    /// Verifies requests Slack posts (HTTP mode); empty in Socket Mode, which has none.
    public let signingSecret: Secret
    public let botToken: Secret
    /// The app-level token (`xapp-…`, scope `connections:write`) that opens Socket Mode connections.
    public let appToken: Secret?

    public init(signingSecret: String, botToken: String, appToken: String? = nil) {
        self.signingSecret = Secret(signingSecret)
        self.botToken = Secret(botToken)
        self.appToken = appToken.map(Secret.init)
    }

    public var description: String { "SlackSecrets(<redacted>)" }

    /// The variables that carry them; never passed on to helm or kubectl.
    public static let variableNames = ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]

    public struct MissingSecret: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Reads `SLACK_BOT_TOKEN` and, for HTTP mode, `SLACK_SIGNING_SECRET`, for Socket Mode
    /// `SLACK_APP_TOKEN`. Each may instead be `…_FILE` pointing at a file that holds the value
    /// (Kubernetes secrets mounted as files); the server reads those files first
    /// (`ConfigurationFiles.secrets`) and passes their contents here under the variable's name.
    public static func load(from environment: [String: String], mode: CoxswainConfiguration.SlackMode = .http) throws -> SlackSecrets {
        switch mode {
        case .http:
            let signingSecret = try read("SLACK_SIGNING_SECRET", from: environment).reveal()
            return SlackSecrets(signingSecret: signingSecret, botToken: try read("SLACK_BOT_TOKEN", from: environment).reveal())
        case .socket:
            let botToken = try read("SLACK_BOT_TOKEN", from: environment).reveal()
            let appToken = try read("SLACK_APP_TOKEN", from: environment, hint: "Slack app settings → Basic Information → App-Level Tokens")
            guard appToken.reveal().hasPrefix("xapp-") else {
                throw MissingSecret(
                    description: "SLACK_APP_TOKEN is not an app-level token: Socket Mode needs one that starts with xapp- "
                        + "(Basic Information → App-Level Tokens, scope connections:write), not the bot token (xoxb-)")
            }
            return SlackSecrets(signingSecret: "", botToken: botToken, appToken: appToken.reveal())
        }
    }

    public static func read(
        _ name: String, from environment: [String: String], hint: String = "Slack app settings → Basic Information / OAuth & Permissions"
    ) throws -> Secret {
        if let value = environment[name], !value.isEmpty { return Secret(value) }
        throw MissingSecret(
            description: "\(name) is not set: export \(name)=… or \(name)_FILE=/path/to/file "
                + "(\(hint))")
    }
}
