import Foundation
import Synchronization

/// The front ends a store writes notices for (`slack`, and `mattermost` when configured): each
/// gets its own copy of every notice written with a change. And until when each turns new
/// posts away (a 429 whose wait is known): a new job's notices are written due then, so the
/// notifier does not take each one only to put it back (Benchmarks/README.md, "The webhook on
/// PostgreSQL", step 9). Kept in this process only; another replica learns it from its own 429.
public final class NoticePlatforms: Sendable {
    private struct State {
        var names = ["slack"]
        var postsHeld: [String: Date] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var names: [String] { state.withLock { $0.names } }

    public func deliver(to names: [String]) { state.withLock { $0.names = names } }

    /// `platform` takes no new post before `until`.
    public func holdPosts(on platform: String, until: Date) { state.withLock { $0.postsHeld[platform] = until } }

    /// When a new job's notices fall due, by platform, where that is later than `now`.
    public func postsDue(now: Date) -> [String: Date] {
        state.withLock { state in
            state.postsHeld = state.postsHeld.filter { $0.value > now }
            return state.postsHeld
        }
    }
}
