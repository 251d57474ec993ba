import CoxswainChat
import CoxswainCore
@testable import CoxswainServer
import Foundation
import Synchronization
import Testing

/// The webhook's two shortcuts around its own bookkeeping: one timer for every request's
/// store deadline, and a new job's first message handed straight to the notifier.
@Suite struct NoticeHandOffTests {
    static func item(_ id: Int64) -> OutboxItem {
        OutboxItem(
            id: id, notice: .message("queued", jobID: id, place: .live), platform: "slack", attempts: 0, createdAt: Date(), sendingSince: Date(),
            route: nil, request: nil, references: [])
    }

    @Test("deadlines expire after their length, in order; one removed in time never expires; no timer is left when none is watched")
    func deadlinesExpire() async throws {
        let watch = DeadlineWatch(length: .milliseconds(50))
        let expired = Mutex<[Int]>([])
        let started = ContinuousClock.now
        _ = watch.add { expired.withLock { $0.append(1) } }
        let second = watch.add { expired.withLock { $0.append(2) } }
        _ = watch.add { expired.withLock { $0.append(3) } }
        watch.remove(second)
        try await Eventually.until("both deadlines expire") { expired.withLock { $0.count } == 2 }
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        #expect(expired.withLock { $0 } == [1, 3])
        #expect(watch.watching == 0)
        // A wait that ends in time leaves nothing to expire, however long the watch then runs.
        let fourth = watch.add { expired.withLock { $0.append(4) } }
        watch.remove(fourth)
        let fifth = watch.add { expired.withLock { $0.append(5) } }
        try await Eventually.until("the fifth deadline expires") { expired.withLock { $0.count } == 3 }
        _ = fifth
        #expect(expired.withLock { $0 } == [1, 3, 5])
    }

    @Test("a message is handed over only while the notifier takes them, the lease is held and fewer than the limit are under way")
    func reservations() async throws {
        let leaseHeld = Mutex(true)
        let signal = WorkSignal()
        let handOff = NoticeHandOff(platform: "slack", limit: 2, notifierSignal: signal, mayDeliver: { leaseHeld.withLock { $0 } })
        #expect(!handOff.reserve())  // the notifier has not started
        let delivered = Mutex<[Int64]>([])
        let gate = WorkSignal()
        handOff.open { item in
            await gate.wait(timeout: .seconds(3600))
            delivered.withLock { $0.append(item.id) }
            return .delivered(nextTurn: false)
        }
        #expect(handOff.reserve() && handOff.reserve())
        #expect(!handOff.reserve())  // the limit
        handOff.release()
        #expect(handOff.inFlight == 1)
        handOff.start(Self.item(7))
        leaseHeld.withLock { $0 = false }
        #expect(!handOff.reserve())  // another server holds the lease
        leaseHeld.withLock { $0 = true }
        handOff.close()
        #expect(!handOff.reserve())  // shutting down
        // Shutdown waits for the message under way; the notifier hears when it is done.
        #expect(handOff.inFlight == 1)
        gate.signal()
        await signal.wait(timeout: .seconds(3600))
        #expect(handOff.inFlight == 0 && delivered.withLock { $0 } == [7])
    }

    @Test("after a handed-over message the notifier is woken when it has something to do", .timeLimit(.minutes(1)))
    func wakesTheNotifierWhenNeeded() async throws {
        let signal = WorkSignal()
        let handOff = NoticeHandOff(platform: "slack", notifierSignal: signal, mayDeliver: { true })
        let outcome = Mutex<SlackNoticeDelivery.Outcome?>(.delivered(nextTurn: true))
        handOff.open { _ in outcome.withLock { $0 } }
        #expect(handOff.reserve())
        handOff.start(Self.item(1))  // the job's next message became due
        await signal.wait(timeout: .seconds(3600))
        // A retry due before the notifier's sleep ends.
        handOff.notifierSleeps(until: Date().addingTimeInterval(3600))
        outcome.withLock { $0 = .postponed(until: Date().addingTimeInterval(5)) }
        #expect(handOff.reserve())
        handOff.start(Self.item(2))
        await signal.wait(timeout: .seconds(3600))
        // The store failed meanwhile: the notifier looks.
        outcome.withLock { $0 = nil }
        #expect(handOff.reserve())
        handOff.start(Self.item(3))
        await signal.wait(timeout: .seconds(3600))
        try await Eventually.until("the deliveries finish") { handOff.inFlight == 0 }
    }
}
