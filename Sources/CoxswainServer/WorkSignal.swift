import CoxswainCore
import Foundation
import Synchronization

/// Wakes an idle service when there is new work, so the webhook never waits for the
/// worker and the worker does not wait for its next poll. A signal while nobody waits is
/// kept as one pending wake-up.
///
/// Built on continuations rather than an `AsyncStream`: cancelling a pending stream
/// iterator (which a timeout does) finishes the stream, and every later wait then
/// returned at once, so an idle server spun on empty transactions.
public final class WorkSignal: Sendable {
    private struct State {
        var pending = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before their continuation was registered.
        var cancelledEarly: Set<UInt64> = []
    }

    private let state = Mutex(State())
    /// Signalled with this one: each has its own pending wake-up (one per notifier, for
    /// example, where one shared signal would wake whichever waits and leave the other asleep).
    private let alongside: [WorkSignal]

    public init(alongside: [WorkSignal] = []) { self.alongside = alongside }

    public func signal() {
        for other in alongside { other.signal() }
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Returns when signalled (or when a signal arrived since the last wait), or after
    /// `timeout`, whichever comes first. Either way the caller looks for work.
    public func wait(timeout: Duration) async {
        let wasPending = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if wasPending { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask { try? await cancellableSleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.cancelledEarly.remove(id) != nil { return true }
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let continuation = state.waiters.removeValue(forKey: id) { return continuation }
                state.cancelledEarly.insert(id)
                return nil
            }
            waiting?.resume()
        }
        // A cancellation racing a signal may have left the id behind.
        _ = state.withLock { $0.cancelledEarly.remove(id) }
    }
}
