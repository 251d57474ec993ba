import CoxswainCore
import Testing

/// The version parser is hand-written for speed (issue 13); these hold it to the grammar it
/// replaced, written as regular expressions here.
@Suite struct UpgradeVersionTests {
    static func reference(_ text: String) -> String?? {
        if text == "latest" { return .some(nil) }
        if let match = text.wholeMatch(of: /nightly-([0-9]{8})/) { return "0.0.0-nightly.\(match.1)" }
        if text.wholeMatch(of: /0\.0\.0-nightly\.[0-9]{8}/) != nil { return text }
        let plain = text.hasPrefix("v") ? String(text.dropFirst()) : text
        guard plain.wholeMatch(of: /[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,6}([-+][0-9A-Za-z.-]{1,40})?/) != nil else { return nil }
        return .some(plain)
    }

    @Test("the parser accepts exactly what the grammar accepts, with the same chart version")
    func matchesGrammar() {
        let pieces = ["0", "1", "12", "2026", "123456", "1234567", ".", "-", "+", "v", "nightly-", "20260115", "0.0.0-nightly.", "rc", "A", "٣", "é", " "]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % 1_000_000)
        }
        var accepted = 0
        for _ in 0..<20_000 {
            let text = (0..<(next() % 7)).map { _ in pieces[next() % pieces.count] }.joined()
            let parsed = UpgradeVersion(parsing: text)
            let expected = Self.reference(text)
            #expect((parsed == nil) == (expected == nil), "\(text)")
            if let parsed, let expected {
                #expect(parsed.chartVersion == expected, "\(text)")
                accepted += 1
            }
        }
        #expect(accepted > 200)
        for text in ["0.3.0", "v0.3.0", "1.2.3-rc.1", "1.2.3+build.5", "nightly-20260115", "0.0.0-nightly.20260115", "latest"] {
            #expect(UpgradeVersion(parsing: text) != nil, "\(text)")
        }
        for text in ["0.3", "1.2.3-", "1.2.3-rc+b", "12345.1.1", "nightly-2026011", "v", ""] {
            #expect(UpgradeVersion(parsing: text) == nil, "\(text)")
        }
    }
}
