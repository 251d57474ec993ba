import CoxswainCore
import Foundation
import Testing

/// `mattermost:`, Mattermost members and channels in the configuration, and its secrets.
@Suite struct MattermostConfigurationTests {
    static let base = """
        environments:
          production: { namespace: production, approvals: 0, channels: [C0OPS, "mattermost:opschannel0000000000000000"] }
        releases: {}
        roles: { deployer: { grants: [rollback], environments: [production] } }
        """

    @Test("mattermost: the server, where it reaches Coxswain, the audit channel; members by name or id; channels by id")
    func parsed() throws {
        let yaml = Self.base + """

            members: { "mattermost:alice": [deployer], "mattermost:abcdefghijklmnopqrstuvwxyz": [deployer], U0123ALICE: [deployer] }
            mattermost: { url: "https://mattermost.example.com", public_url: "https://coxswain.example.com", audit_channel: auditchannel00000000000000 }
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml")
        let mattermost = try #require(configuration.mattermost)
        #expect(mattermost.url.host == "mattermost.example.com" && mattermost.auditChannel == "auditchannel00000000000000")
        #expect(mattermost.giveUpAfter == GoDuration(seconds: 86_400))
        #expect(CoxswainConfiguration.Mattermost.environmentChannels(configuration.environments) == ["production": "opschannel0000000000000000"])
        #expect(configuration.members["mattermost:alice"] == ["deployer"])
        #expect(try ConfigurationLoader.parse(yaml: Self.base + "\nmembers: {}", file: "c.yaml").mattermost == nil)
    }

    @Test("mistakes are named: a missing URL, a channel that is not an id, a member that is neither a Slack id nor a Mattermost user")
    func mistakes() {
        func problem(_ yaml: String) -> String? {
            do {
                _ = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml")
                return nil
            } catch { return "\(error)" }
        }
        #expect(problem(Self.base + "\nmattermost: { public_url: \"https://c\" }")?.contains("mattermost.url: must be an http(s) URL") == true)
        #expect(problem(Self.base + "\nmattermost: { url: \"https://m\" }")?.contains("mattermost.public_url: must be an http(s) URL") == true)
        #expect(
            problem(Self.base + "\nmattermost: { url: \"https://m\", public_url: \"https://c\", audit_channel: town-square }")?
                .contains("mattermost.audit_channel: must be a Mattermost channel id") == true)
        #expect(problem(Self.base + "\nmembers: { \"mattermost:Alice Smith\": [deployer] }")?.contains("or a Mattermost user such as mattermost:alice") == true)
        let channel = Self.base.replacingOccurrences(of: "mattermost:opschannel0000000000000000", with: "mattermost:town-square")
        #expect(problem(channel)?.contains("Mattermost channels as mattermost:CHANNEL_ID") == true)
    }

    @Test("secrets: the bot token and the command tokens, comma- or line-separated; missing ones named")
    func secrets() throws {
        let secrets = try MattermostSecrets.load(from: ["MATTERMOST_BOT_TOKEN": "bot", "MATTERMOST_COMMAND_TOKENS": "a, b\nc"])
        #expect(secrets.commandTokens.map { $0.reveal() } == ["a", "b", "c"] && secrets.botToken.reveal() == "bot")
        #expect("\(secrets)" == "MattermostSecrets(<redacted>)")
        #expect(throws: SlackSecrets.MissingSecret.self) { try MattermostSecrets.load(from: ["MATTERMOST_BOT_TOKEN": "bot"]) }
    }
}
