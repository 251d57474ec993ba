import CoxswainChat
import CoxswainCore
import Foundation
import Synchronization

/// A new job's first message, handed from the intake straight to the notifier: the intake's
/// transaction stores it already marked as being sent, and it goes out at once, without the
/// notifier waking, looking for it, claiming it in a transaction of its own and reading the
/// job's message references back. Only while the notifier runs and this server holds the
/// database lease, and for at most `limit` messages at a time; otherwise the message waits
/// in the outbox for the notifier as every other one does. After a crash a handed-over
/// message is one "being sent": looked for in the channel, then sent if it is not there.
final class NoticeHandOff: Sendable {
    /// What came of a message; nil when the store failed meanwhile.
    typealias Deliver = @Sendable (OutboxItem) async -> SlackNoticeDelivery.Outcome?

    private struct State {
        var deliver: Deliver?
        var open = false
        /// Reserved or being delivered.
        var inFlight = 0
        /// When the notifier's current sleep ends; nil while it is awake (it will look).
        var notifierWakesAt: Date?
    }

    let platform: String
    let limit: Int
    private let mayDeliver: @Sendable () -> Bool
    private let notifierSignal: WorkSignal
    private let state = Mutex(State())

    init(platform: String, limit: Int = 32, notifierSignal: WorkSignal, mayDeliver: @escaping @Sendable () -> Bool) {
        self.platform = platform; self.limit = limit; self.notifierSignal = notifierSignal; self.mayDeliver = mayDeliver
    }

    // MARK: the intake's side

    /// Whether the next job's first message may be handed over; a true answer holds a place
    /// until `start` or `release`.
    func reserve() -> Bool {
        guard mayDeliver() else { return false }
        return state.withLock { state in
            guard state.open, state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
    }

    /// A reserved place that was not used (the request was a retry, joined a job, failed).
    func release() { finishOne() }

    /// Sends a message the intake stored as being sent, in a place `reserve` held.
    func start(_ item: OutboxItem) {
        // Always set: `reserve` needs the hand-off open, and `open` sets it.
        guard let deliver = state.withLock({ $0.deliver }) else { return finishOne() }
        Task {
            let outcome = await deliver(item)
            if needsNotifier(after: outcome) { notifierSignal.signal() }
            finishOne()
        }
    }

    // MARK: the notifier's side

    func open(_ deliver: @escaping Deliver) { state.withLock { $0.deliver = deliver; $0.open = true } }

    /// No more messages are handed over; the notifier is signalled when those under way are done.
    func close() { state.withLock { $0.open = false } }

    /// Messages reserved or under way.
    var inFlight: Int { state.withLock { $0.inFlight } }

    func notifierSleeps(until date: Date?) { state.withLock { $0.notifierWakesAt = date } }

    // MARK: pieces

    /// The notifier is woken only when the message left it something to do before it would
    /// look anyway: the job's next message became due, a retry falls due before its sleep
    /// ends, or a failure queued messages that say so.
    private func needsNotifier(after outcome: SlackNoticeDelivery.Outcome?) -> Bool {
        guard let outcome else { return true }
        switch outcome {
        case .delivered(let nextTurn): return nextTurn
        case .postponed(let until):
            guard let wakes = state.withLock({ $0.notifierWakesAt }) else { return true }
            return until < wakes
        case .retrying, .failed: return true
        }
    }

    private func finishOne() {
        let drained = state.withLock { state in
            state.inFlight -= 1
            return state.inFlight == 0 && !state.open
        }
        if drained { notifierSignal.signal() }
    }
}
