import Foundation
import Synchronization

/// Many waits of one length on one timer. The webhook gives each store write the same
/// second; a timer of its own per request (a task and a dispatch timer, set up and torn
/// down each time, the dispatch manager thread woken for both) cost about as much as the
/// rest of the deadline's bookkeeping together. Here a request adds an entry under a lock
/// and removes it when it is answered; one task sleeps until the oldest live entry's
/// deadline, and exists only while entries do (an idle server has no timer).
///
/// Entries expire in the order they were added, which is their deadlines' order because
/// every entry waits `length`.
final class DeadlineWatch: Sendable {
    typealias Token = UInt64

    private struct Entry {
        let token: Token
        let deadline: ContinuousClock.Instant
    }

    private struct State {
        var nextToken: Token = 0
        var live: [Token: @Sendable () -> Void] = [:]
        /// Oldest first, from `head` on; entries removed meanwhile are skipped when reached.
        var order: [Entry] = []
        var head = 0
        var ticking = false
    }

    let length: Duration
    private let state = Mutex(State())

    init(length: Duration) { self.length = length }

    /// The webhook's: the answer must leave well within Slack's 3 seconds. One for the
    /// process, as NIO's event loops are: it holds timers, nothing anyone reads.
    static let webhook = DeadlineWatch(length: .milliseconds(1000))

    /// Calls `expire` once `length` has passed, unless `remove` comes first.
    func add(_ expire: @escaping @Sendable () -> Void) -> Token {
        let (token, startsTicking) = state.withLock { state -> (Token, Bool) in
            state.nextToken += 1
            state.live[state.nextToken] = expire
            state.order.append(Entry(token: state.nextToken, deadline: .now + length))
            defer { state.ticking = true }
            return (state.nextToken, !state.ticking)
        }
        if startsTicking { Task { await tick() } }
        return token
    }

    /// The wait ended by itself: `expire` is not called (nor is it, if it is running already, called twice).
    func remove(_ token: Token) { _ = state.withLock { $0.live.removeValue(forKey: token) } }

    /// How many waits are being watched, for tests.
    var watching: Int { state.withLock { $0.live.count } }

    private func tick() async {
        while true {
            let (expired, next) = state.withLock { state -> ([@Sendable () -> Void], ContinuousClock.Instant?) in
                let now = ContinuousClock.now
                var expired: [@Sendable () -> Void] = []
                while state.head < state.order.count {
                    let entry = state.order[state.head]
                    guard let expire = state.live[entry.token] else { state.head += 1; continue }
                    guard entry.deadline <= now else { break }
                    expired.append(expire)
                    state.live[entry.token] = nil
                    state.head += 1
                }
                // What was passed is dropped now and then, not on every tick.
                if state.head > 1024 || state.head == state.order.count {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
                guard state.head < state.order.count else {
                    state.ticking = false
                    return (expired, nil)
                }
                return (expired, state.order[state.head].deadline)
            }
            for expire in expired { expire() }
            guard let next else { return }
            // Never cancelled, so its timer goes when it fires.
            try? await Task.sleep(until: next, clock: .continuous)
        }
    }
}
