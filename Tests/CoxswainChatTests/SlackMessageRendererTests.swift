import CoxswainChat
import CoxswainCore
import Foundation
import Testing

@Suite struct SlackNoticeRendererTests {
    let renderer = SlackNoticeRenderer(slashCommand: { "/cx-" + $0 })

    @Test func rendersStepsWithSymbolsDurationsAndEscapedText() throws {
        let progress = JobProgress(
            jobID: 7, planLine: "rollback llama-2-7b-production (production, ns production)", requestedBy: "U1",
            reason: "<script> & co", state: .running,
            steps: [
                .init(title: "Show release history", status: .succeeded, durationMilliseconds: 240, note: "revision 5 -> 3"),
                .init(title: "Helm rollback", status: .running),
                .init(title: "Wait for pods", status: nil),
            ],
            summary: ["\(strong: "Result:") done by \(user: "U2")"])
        let rendered = renderer.render(Notice(jobID: 7, place: .live, body: .progress(progress)))
        #expect(rendered.text.contains("✅ Show release history — 240 ms · revision 5 -&gt; 3"))
        #expect(rendered.text.contains("⏳ Helm rollback"))
        #expect(rendered.text.contains("▫️ Wait for pods"))
        #expect(rendered.text.contains("reason: &lt;script&gt; &amp; co"))
        #expect(rendered.text.contains("*Result:* done by <@U2>"))
        let json = try #require(rendered.blocksJSON)
        let blocks = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(blocks.map { $0["type"] as? String } == ["section", "context", "section", "section"])
    }

    @Test("rich text becomes mrkdwn only here: mentions, code, typed commands with the workspace's prefix")
    func richText() {
        let text: RichText = "Approve \(code: "a<b") as \(user: "U1") in \(channel: "C1") for \(group: "S1"), or \(command: "approve 12")."
        #expect(renderer.mrkdwn(text) == "Approve `a&lt;b` as <@U1> in <#C1> for <!subteam^S1>, or `/cx-approve 12`.")
        #expect(text.plainText == "Approve `a<b` as @U1 in #C1 for @S1, or `approve 12`.")
    }

    @Test func buttonsCarryTheirValueAndConfirmation() throws {
        let action = NoticeAction(
            kind: .approve, label: "Approve", value: "12:5->3", style: .primary,
            confirmation: .init(title: "Approve job #12?", text: "This runs \(code: "x")."), typed: "approve 12")
        let rendered = renderer.render(.message("Approval needed", jobID: 12, place: .approval(round: 1), actions: [action]))
        let json = try #require(rendered.blocksJSON)
        let blocks = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let button = try #require(((blocks.last?["elements"]) as? [[String: Any]])?.first)
        #expect(button["action_id"] as? String == "approve" && button["value"] as? String == "12:5->3" && button["style"] as? String == "primary")
        #expect(((button["confirm"] as? [String: Any])?["text"] as? [String: Any])?["text"] as? String == "This runs `x`.")
    }

    @Test func cutsLongThreadDetails() {
        let rendered = renderer.render(.message("\(strong: "helm output")\n\(preformatted: String(repeating: "x", count: 5000))", jobID: 1, place: .thread))
        #expect(rendered.text.count < 3000)
        #expect(rendered.text.contains("… (cut)"))
    }
}
