import Foundation

extension CoxswainConfiguration {
    /// Mattermost, beside Slack (`mattermost:`). Its tokens are never in the file: they come from
    /// `MATTERMOST_BOT_TOKEN` and `MATTERMOST_COMMAND_TOKENS` (or `…_FILE`), see `MattermostSecrets`.
    public struct Mattermost: Sendable, Equatable {
        /// The Mattermost server: its REST API (`/api/v4`) and the only host slash commands'
        /// response URLs may name.
        public var url: URL
        /// How the Mattermost server reaches Coxswain: buttons post their clicks to
        /// `PUBLIC_URL/mattermost/actions`.
        public var publicURL: URL
        /// The channel (its id) that gets the audit trail's notices.
        public var auditChannel: String?
        /// How long a message is retried through Mattermost outages before it is given up on.
        public var giveUpAfter: GoDuration

        public init(url: URL, publicURL: URL, auditChannel: String? = nil, giveUpAfter: GoDuration = GoDuration(seconds: 86_400)) {
            self.url = url; self.publicURL = publicURL; self.auditChannel = auditChannel; self.giveUpAfter = giveUpAfter
        }

        /// Each environment's first Mattermost channel (`channels: [mattermost:ID]`), by environment.
        public static func environmentChannels(_ environments: [String: Environment]) -> [String: String] {
            environments.compactMapValues { env in
                env.channels?.first(where: Validation.isMattermostChannel).map { String($0.dropFirst("mattermost:".count)) }
            }
        }
    }
}

extension RawConfiguration {
    struct Mattermost: Decodable {
        var url: String?
        var public_url: String?
        var audit_channel: String?
        var give_up_after: String?
    }

    func validatedMattermost(
        fail: (String, String) -> ConfigurationError, duration: (String?, String, String) throws -> GoDuration
    ) throws -> CoxswainConfiguration.Mattermost? {
        guard let mattermost else { return nil }
        func url(_ text: String?, _ key: String, example: String) throws -> URL {
            guard let text, let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw fail("mattermost.\(key)", "must be an http(s) URL such as \(example), got \"\(text ?? "")\"")
            }
            return url
        }
        let server = try url(mattermost.url, "url", example: "https://mattermost.example.com")
        let publicURL = try url(mattermost.public_url, "public_url", example: "https://coxswain.example.com (where Mattermost reaches Coxswain)")
        if let channel = mattermost.audit_channel, !Validation.isMattermostID(channel) {
            throw fail("mattermost.audit_channel", "must be a Mattermost channel id (26 lowercase letters and digits), got \"\(channel)\"")
        }
        return .init(
            url: server, publicURL: publicURL, auditChannel: mattermost.audit_channel,
            giveUpAfter: try duration(mattermost.give_up_after, "24h", "mattermost.give_up_after"))
    }
}

/// Mattermost's secrets, from the environment or files it names, never from the configuration
/// file: the bot account's access token (posts, edits, user lookups) and the tokens Mattermost
/// gave Coxswain's slash commands (one per command, comma- or line-separated).
public struct MattermostSecrets: Sendable, CustomStringConvertible {
    public let botToken: Secret
    public let commandTokens: [Secret]

    public init(botToken: String, commandTokens: [String]) {
        self.botToken = Secret(botToken)
        self.commandTokens = commandTokens.map(Secret.init)
    }

    public var description: String { "MattermostSecrets(<redacted>)" }

    /// The variables that carry them; never passed on to helm or kubectl.
    public static let variableNames = ["MATTERMOST_BOT_TOKEN", "MATTERMOST_COMMAND_TOKENS"]

    public static func load(from environment: [String: String]) throws -> MattermostSecrets {
        let hint = "Mattermost → Integrations → Bot Accounts / Slash Commands"
        let bot = try SlackSecrets.read("MATTERMOST_BOT_TOKEN", from: environment, hint: hint).reveal()
        let commands = try SlackSecrets.read("MATTERMOST_COMMAND_TOKENS", from: environment, hint: hint).reveal()
            .split(whereSeparator: { $0 == "," || $0.isNewline || $0 == " " }).map(String.init)
        return MattermostSecrets(botToken: bot, commandTokens: commands)
    }
}
