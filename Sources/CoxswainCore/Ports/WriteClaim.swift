import Foundation
import Synchronization

/// Lets a caller with a deadline (the webhook) stop waiting for a write without leaving it
/// to commit later behind its back: the store asks `mayCommit()` inside the transaction, just
/// before committing, and rolls back when the caller has abandoned it. So "nothing was done,
/// try again" stays true, and the caller answers on time even while the write still waits
/// for a lock.
public final class WriteClaim: Sendable {
    private enum State { case open, committing, abandoned }
    private let state = Mutex(State.open)

    public init() {}

    /// The claim of the write running in this task, if its caller may abandon it.
    @TaskLocal public static var current: WriteClaim?

    /// Inside the transaction, just before it commits: false once the caller has given up.
    public func mayCommit() -> Bool {
        state.withLock { state in
            if state == .open { state = .committing }
            return state == .committing
        }
    }

    /// After an attempt that did not commit after all: the caller may give up again.
    public func reopen() { state.withLock { if $0 == .committing { $0 = .open } } }

    /// The caller gives up. False when a commit is already under way: then its result counts.
    public func abandon() -> Bool {
        state.withLock { state in
            guard state == .open else { return false }
            state = .abandoned
            return true
        }
    }
}
