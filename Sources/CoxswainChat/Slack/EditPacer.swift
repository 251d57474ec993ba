import CoxswainCore
import Foundation
import Synchronization

/// Paces the edits of a message Coxswain keeps up to date (a job's live message, an
/// approval request): at most one per interval. A step that ends sooner waits in the
/// outbox, where the next step's content replaces it, so a burst of fast steps costs one
/// render and one `chat.update` instead of one each. The first post is never held back.
/// In memory only: after a restart the first edit of each message goes out at once.
final class EditPacer: Sendable {
    let interval: TimeInterval
    private let state = Mutex(Edits())

    private struct Edits {
        var last: [String: Date] = [:]
        /// Entries are dropped when the map reaches this size, which then doubles what is
        /// left: each edit costs O(1) on average however many messages are being edited.
        var pruneAt = Edits.smallest
        var prunes = 0
        static let smallest = 256
    }

    init(interval: TimeInterval) { self.interval = interval }

    /// The message a notice edits (or first posts), if it is one that is kept up to date.
    static func key(_ notice: Notice) -> String? {
        guard notice.place.isReplaceable, let jobID = notice.jobID else { return nil }
        return "\(jobID):\(notice.place.key)"
    }

    /// When `message` may be edited next, if not now.
    func nextEdit(of message: String, now: Date) -> Date? {
        guard interval > 0, let last = state.withLock({ $0.last[message] }) else { return nil }
        let next = last.addingTimeInterval(interval)
        return next > now ? next : nil
    }

    func edited(_ message: String, at now: Date) {
        guard interval > 0 else { return }
        state.withLock { edits in
            edits.last[message] = now
            // Messages not edited within the interval need no entry: the map stays about as
            // large as the number of messages being edited right now.
            guard edits.last.count >= edits.pruneAt else { return }
            edits.last = edits.last.filter { now.timeIntervalSince($0.value) < interval }
            edits.pruneAt = max(Edits.smallest, 2 * edits.last.count)
            edits.prunes += 1
        }
    }

    /// How many messages have an entry, and how often entries were dropped, for tests.
    var counts: (tracked: Int, prunes: Int) { state.withLock { ($0.last.count, $0.prunes) } }
}
