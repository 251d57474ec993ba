@testable import CoxswainCore
import Foundation
import Testing

/// The server matches a few patterns by hand so that it never maps the regex engine (see `Validation`,
/// `RevisionLineage.rollbackTarget`). The regexes they replaced are the oracle here, on generated strings.
@Suite struct HandMatchersTests {
    /// Strings made of pieces that sit on the patterns' edges.
    static func generated(_ pieces: [String], count: Int, seed: UInt64) -> [String] {
        var state = seed
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        return (0..<count).map { _ in (0..<(next() % 6)).map { _ in pieces[next() % pieces.count] }.joined() }
    }

    @Test("`Rollback to N` is found where the regex finds it, for 20,000 generated descriptions")
    func rollbackTarget() {
        let pieces = ["Rollback to ", "Rollback to", "Rollback ", "to ", "3", "12", "007", "99999999999999999999", " ", "x", "Upgrade complete", "é", "-"]
        for text in Self.generated(pieces, count: 20_000, seed: 13) {
            let expected = text.firstMatch(of: /Rollback to (\d+)/).flatMap { Int($0.1) }
            #expect(RevisionLineage.rollbackTarget(text) == expected, "\(text)")
        }
    }

    @Test("command prefixes and runbook commands are accepted exactly as the regexes accepted them")
    func namesMatchTheirRegexes() {
        let pieces = ["/", "a", "z", "0", "9", "-", "_", "A", " ", "é", "rollback", "cx-", "abcdefghijkl"]
        for text in Self.generated(pieces, count: 20_000, seed: 7) {
            #expect(Validation.isCommandPrefix(text) == (text.wholeMatch(of: /[a-z0-9-]{0,12}/) != nil), "\(text)")
            #expect(Validation.isSlashCommand(text) == (text.wholeMatch(of: /\/[a-z0-9][a-z0-9_-]{0,30}/) != nil), "\(text)")
        }
    }
}
