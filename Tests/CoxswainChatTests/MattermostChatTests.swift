import CoxswainChat
import CoxswainCore
import Foundation
import Testing

/// Mattermost's requests, proofs and Markdown, without a server.
@Suite struct MattermostChatTests {
    @Test("command tokens: any configured one, from the header or the field; both must agree; nothing else")
    func tokens() {
        let tokens = MattermostCommandTokens(["rollbacktoken", "approvetoken", ""])
        #expect(tokens.verify(header: "Token rollbacktoken", field: nil))
        #expect(tokens.verify(header: nil, field: "approvetoken"))
        #expect(tokens.verify(header: "Token approvetoken", field: "approvetoken"))
        #expect(!tokens.verify(header: "Token approvetoken", field: "rollbacktoken"), "header and field disagree")
        #expect(!tokens.verify(header: "Bearer rollbacktoken", field: nil))
        #expect(!tokens.verify(header: "Token rollbacktokeN", field: nil))
        #expect(!tokens.verify(header: "Token ", field: nil) && !tokens.verify(header: nil, field: "") && !tokens.verify(header: nil, field: nil))
        #expect(!MattermostCommandTokens([]).verify(header: "Token ", field: ""), "no token configured: nothing is accepted")
    }

    @Test("button contexts: what was signed verifies; another key, another value or a changed action does not")
    func contexts() {
        let signer = MattermostActionSigner(botToken: "bot-token-1")
        let context = signer.context(action: "approve", value: "12:5->3")
        #expect(signer.verify(context)! == ("approve", "12:5->3"))
        #expect(MattermostActionSigner(botToken: "bot-token-2").verify(context) == nil, "a rotated bot token makes old buttons invalid")
        var changed = context
        changed["value"] = "13:5->3"
        #expect(signer.verify(changed) == nil)
        changed = context
        changed["action"] = "deny"
        #expect(signer.verify(changed) == nil)
        changed = context
        changed["sig"] = "zz"
        #expect(signer.verify(changed) == nil)
        // No two (action, value) pairs sign alike.
        #expect(signer.context(action: "ab", value: "c")["sig"] != signer.context(action: "a", value: "bc")["sig"])
    }

    @Test("Markdown: users by name are mentioned, ids and Slack users are not; a reason cannot ping the channel or make a heading")
    func markdown() {
        let renderer = MattermostNoticeRenderer(signer: MattermostActionSigner(botToken: "t"), actionURL: "https://c/mattermost/actions") { "/cx-" + $0 }
        let text: RichText =
            "\(user: "mattermost:alice") and \(user: "mattermost:abcdefghijklmnopqrstuvwxyz") and \(user: "U0789CAROL"): \(strong: "Result:") "
            + "\(code: "a`b") \(command: "approve 12") @channel *bold* _x_\n# not a heading\n> not a quote"
        let rendered = renderer.markdown(text)
        #expect(rendered.hasPrefix("@alice and `mattermost:abcdefghijklmnopqrstuvwxyz` and `U0789CAROL`: **Result:** `a'b` `/cx-approve 12`"))
        #expect(rendered.contains("@\u{2060}channel \\*bold\\* \\_x\\_\n\\# not a heading\n\\> not a quote"), "\(rendered)")
        #expect(!renderer.markdown("Job #12 and a > b").contains("\\"), "only where a line starts")
    }

    @Test("requests: a slash command needs its user and channel; a click needs a user and a context")
    func requests() throws {
        let fields = ["command": "/rollback", "text": "llama", "user_id": "u1", "user_name": "alice", "channel_id": "c1", "trigger_id": "t1"]
        let command = try MattermostSlashCommand(form: fields)
        #expect(command.idempotencyKey(rawBody: Data()) == "mattermost:t1" && command.responseURL == nil)
        #expect(throws: MattermostSlashCommand.Malformed.self) { try MattermostSlashCommand(form: fields.filter { $0.key != "user_name" }) }
        let click = try MattermostActionRequest(json: Data(#"{"user_id":"u1","user_name":"carol","post_id":"p","context":{"action":"approve","n":7}}"#.utf8))
        #expect(click.context == ["action": "approve"] && click.userName == "carol")
        #expect(throws: MattermostActionRequest.Malformed.self) { try MattermostActionRequest(json: Data(#"{"user_id":"u1"}"#.utf8)) }
        #expect(throws: MattermostActionRequest.Malformed.self) { try MattermostActionRequest(json: Data("[]".utf8)) }
    }

    @Test("the command list names every command's trigger word and the one request URL")
    func commandList() {
        let list = MattermostCommandList.render(
            baseURL: "https://coxswain.example.com/",
            commands: [CommandDescription(command: "/cx-rollback", description: "Roll back \"a\" release", usageHint: "RELEASE [REVISION]")])
        #expect(list.contains("- trigger_word: cx-rollback\n"))
        #expect(list.contains("request_url: https://coxswain.example.com/mattermost/commands\n"))
        #expect(list.contains("autocomplete_description: \"Roll back 'a' release\""))
    }
}
