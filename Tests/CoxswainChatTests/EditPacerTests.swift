@testable import CoxswainChat
import Foundation
import Testing

@Suite struct EditPacerTests {
    @Test("a message edited within the interval waits for the rest of it; others and later edits go at once")
    func paces() {
        let pacer = EditPacer(interval: 1)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(pacer.nextEdit(of: "1:live", now: start) == nil)
        pacer.edited("1:live", at: start)
        #expect(pacer.nextEdit(of: "1:live", now: start.addingTimeInterval(0.4)) == start.addingTimeInterval(1))
        #expect(pacer.nextEdit(of: "2:live", now: start.addingTimeInterval(0.4)) == nil)
        #expect(pacer.nextEdit(of: "1:live", now: start.addingTimeInterval(1)) == nil)
        #expect(EditPacer(interval: 0).nextEdit(of: "1:live", now: start) == nil)
    }

    @Test("thousands of messages edited at once are each paced, and the map is pruned a few times, not on every edit")
    func manyMessages() {
        let pacer = EditPacer(interval: 1)
        let start = Date(timeIntervalSince1970: 1_000_000)
        let count = 20_000
        for n in 0..<count { pacer.edited("\(n):live", at: start.addingTimeInterval(Double(n) / Double(count) / 2)) }
        let during = start.addingTimeInterval(0.6)
        #expect((0..<count).allSatisfy { pacer.nextEdit(of: "\($0):live", now: during) != nil })
        // Pruning at 256, 512, 1024 … 16,384 entries: nothing was old enough to drop.
        #expect(pacer.counts == (tracked: count, prunes: 7))
        // A second later the old entries go at the next pruning, and edits are not held back.
        let later = start.addingTimeInterval(2)
        for n in 0..<(count + 1) { pacer.edited("new \(n)", at: later) }
        #expect(pacer.counts.tracked <= count + 1 + 1)
        #expect(pacer.nextEdit(of: "5:live", now: later) == nil)
    }
}
