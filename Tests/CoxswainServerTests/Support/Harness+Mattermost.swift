import CoxswainChat
import CoxswainCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Talking to Coxswain as a Mattermost server does: slash commands with the command's token,
/// and button clicks with the context the button was posted with.
extension Harness {
    /// Production's Mattermost channel, and the audit channel (26-character ids, as Mattermost's).
    static let mattermostOps = "opschannel0000000000000000"
    static let mattermostAudit = "auditchannel00000000000000"

    static func mattermostYAML(fakePort: Int) -> String {
        """

        mattermost:
          url: "http://127.0.0.1:\(fakePort)/mm"
          public_url: "http://127.0.0.1:\(fakePort)/coxswain"
          audit_channel: \(mattermostAudit)
        """
    }

    /// Mattermost's users for these tests, and their ids.
    static func mattermostUserID(_ name: String) -> String { String((name + String(repeating: "0", count: 26)).prefix(26)) }

    @discardableResult
    func mattermostCommand(
        _ text: String, command: String = "/rollback", user: String = "alice", channel: String = Harness.mattermostOps,
        token: String? = FakeMattermost.commandToken, triggerID: String = UUID().uuidString
    ) async throws -> TestResponse {
        var fields = [
            ("channel_id", channel), ("channel_name", "ops"), ("command", command), ("team_domain", "example"), ("team_id", "teamid00000000000000000000"),
            ("text", text), ("trigger_id", triggerID), ("user_id", Self.mattermostUserID(user)), ("user_name", user),
            ("response_url", "http://127.0.0.1:\(fakePort)/mm/hooks/commands/\(UUID().uuidString.lowercased())"),
        ]
        if let token { fields.append(("token", token)) }
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let token { headers[.authorization] = "Token \(token)" }
        return try await client.execute(uri: "/mattermost/commands", method: .post, headers: headers, body: ByteBuffer(string: FormDecoding.encode(fields)))
    }

    /// The text of an immediate answer to a Mattermost command.
    static func mattermostAnswer(_ response: TestResponse) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
        return object?["text"] as? String ?? object?["ephemeral_text"] as? String ?? ""
    }

    /// Clicks a button of a post as Mattermost posts the click: the button's own context, unsigned.
    func mattermostClick(_ post: FakeMattermost.Post, action: String, user: String, context override: [String: String]? = nil) async throws -> TestResponse {
        let attachments = post.props["attachments"] as? [any Sendable] ?? []
        let buttons = attachments.compactMap { ($0 as? [String: any Sendable])?["actions"] as? [any Sendable] }.flatMap { $0 }
        let button = try #require(buttons.compactMap { $0 as? [String: any Sendable] }.first { $0["id"] as? String == action }, "no \(action) button")
        let integration = try #require(button["integration"] as? [String: any Sendable])
        let context = override ?? (integration["context"] as? [String: any Sendable] ?? [:]).compactMapValues { $0 as? String }
        let body: [String: Any] = [
            "user_id": Self.mattermostUserID(user), "user_name": user, "channel_id": post.channel, "team_id": "teamid00000000000000000000",
            "post_id": post.id, "trigger_id": UUID().uuidString, "type": "", "data_source": "", "context": context,
        ]
        return try await client.execute(
            uri: "/mattermost/actions", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
    }
}
