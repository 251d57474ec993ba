import CoxswainChat
import CoxswainCore
import Foundation
import Testing

@Suite struct SlackMessageRendererTests {
    @Test func rendersStepsWithSymbolsDurationsAndEscapedText() throws {
        let progress = JobProgress(jobID: 7, command: "rollback", release: "llama-2-7b-production", environment: "production",
                                   namespace: "production", requestedBy: "U1", reason: "<script> & co", state: .running, plan: nil,
                                   steps: [.init(title: "Show release history", status: .succeeded, durationMilliseconds: 240, note: "revision 5 -> 3"),
                                           .init(title: "Helm rollback", status: .running),
                                           .init(title: "Wait for pods", status: nil)])
        let rendered = SlackMessageRenderer.liveMessage(progress)
        #expect(rendered.text.contains("✅ Show release history — 240 ms · revision 5 -&gt; 3"))
        #expect(rendered.text.contains("⏳ Helm rollback"))
        #expect(rendered.text.contains("▫️ Wait for pods"))
        #expect(rendered.text.contains("reason: &lt;script&gt; &amp; co"))
        let blocks = try #require(try JSONSerialization.jsonObject(with: Data(rendered.blocksJSON.utf8)) as? [[String: Any]])
        #expect(blocks.map { $0["type"] as? String } == ["section", "context", "section"])
    }

    @Test func cutsLongThreadDetails() {
        let text = SlackMessageRenderer.threadDetail(title: "helm output", body: String(repeating: "x", count: 5000))
        #expect(text.count < 3000)
        #expect(text.contains("… (cut)"))
    }
}
