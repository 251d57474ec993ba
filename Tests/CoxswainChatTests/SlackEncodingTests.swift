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

    @Test("the command answer is JSON that reads back as the text it was given")
    func answerJSON() throws {
        let alphabet = ["a", "\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1f}", "/", "é", "✅", "<", "&", " ", "\u{7f}", "\u{2028}"]
        for text in Self.generated(5_000, seed: 0x9E37_79B9_7F4A_7C15, alphabet: alphabet) {
            let json = SlackNoticeRenderer.jsonString(text)
            let decoded = try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as? [String]
            #expect(decoded == [text], "\(text.debugDescription)")
        }
    }
}
