@testable import CoxswainChat
import Foundation
import Testing

/// The hand-written form decoder and JSON answer (issue 13) against Foundation's, on
/// generated input.
@Suite struct SlackEncodingTests {
    static func generated(_ count: Int, seed: UInt64, alphabet: [String]) -> [String] {
        var state = seed
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % 1_000_003)
        }
        return (0..<count).map { _ in (0..<(next() % 12)).map { _ in alphabet[next() % alphabet.count] }.joined() }
    }

    @Test("form fields decode as removingPercentEncoding does, nil where it is nil")
    func formDecoding() {
        let alphabet = ["a", "Z", "0", "+", "%", "%2", "%20", "%2B", "%e2%9c%85", "%C3", "%ff", "%zz", "=", " ", "é", "✅", "%0A", "-"]
        for text in Self.generated(20_000, seed: 0x2545_F491_4F6C_DD1D, alphabet: alphabet) {
            let expected = text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            #expect(FormDecoding.decode(Substring(text)) == expected, "\(text)")
        }
    }

    @Test("Slack's escapes (&, <, >) come out as Foundation's three replacements made them, and every < is escaped")
    func escaping() {
        let alphabet = ["a", "&", "<", ">", "&amp;", "&lt;", " ", "é", "✅", "\n", "<@U1>", "e\u{301}"]
        for text in Self.generated(20_000, seed: 0x5851_F42D_4C95_7F2D, alphabet: alphabet) {
            let expected = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
            #expect(SlackNoticeRenderer.escape(text) == expected, "\(text.debugDescription)")
        }
        // A combining mark after `<` makes one character of it, which Foundation's search skipped: Slack would read it as markup.
        #expect(SlackNoticeRenderer.escape("<\u{338}x") == "&lt;\u{338}x")
    }

    @Test("the command answer is JSON that reads back as the text it was given")
    func answerJSON() throws {
        let alphabet = ["a", "\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1f}", "/", "é", "✅", "<", "&", " ", "\u{7f}", "\u{2028}"]
        for text in Self.generated(5_000, seed: 0x9E37_79B9_7F4A_7C15, alphabet: alphabet) {
            let json = SlackNoticeRenderer.jsonString(text)
            let decoded = try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as? [String]
            #expect(decoded == [text], "\(text.debugDescription)")
        }
    }

    @Test("value trees encode to JSON that Foundation reads back as the same tree")
    func valueTrees() throws {
        let tree: [String: Any] = [
            "channel": "C0OPS", "text": "Job #7 \"quoted\" \\ \n ✅", "unfurl": false, "count": 3, "id": Int64(9_000_000_000), "ratio": 1.5,
            "blocks": JSONText.RawJSON(text: #"[{"type":"section"}]"#), "nothing": NSNull(),
            "metadata": ["event_type": "coxswain_notice", "event_payload": ["notice_id": Int64(42)]], "list": [1, "two", [true]],
        ]
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(JSONText.encode(tree).utf8)) as? [String: Any])
        #expect(decoded["text"] as? String == "Job #7 \"quoted\" \\ \n ✅")
        #expect(decoded["unfurl"] as? Bool == false)
        #expect((decoded["id"] as? NSNumber)?.int64Value == 9_000_000_000)
        #expect((decoded["ratio"] as? NSNumber)?.doubleValue == 1.5)
        #expect((decoded["blocks"] as? [[String: Any]])?.first?["type"] as? String == "section")
        #expect(decoded["nothing"] is NSNull)
        let payload = (decoded["metadata"] as? [String: Any])?["event_payload"] as? [String: Any]
        #expect((payload?["notice_id"] as? NSNumber)?.intValue == 42)
        #expect(JSONText.encode(["b": 1, "a": 2]) == #"{"a":2,"b":1}"#)
    }
}
