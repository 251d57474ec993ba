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
    private let lastEdits = Mutex<[String: Date]>([:])

    init(interval: TimeInterval) { self.interval = interval }

    /// The message a notice edits (or first posts), if it is one that is kept up to date.
    static func key(_ notice: Notice) -> String? {
        guard notice.place.isReplaceable, let jobID = notice.jobID else { return nil }
        return "\(jobID):\(NoticeRoles.role(notice.place))"
    }

    /// When `message` may be edited next, if not now.
    func nextEdit(of message: String, now: Date) -> Date? {
        guard interval > 0, let last = lastEdits.withLock({ $0[message] }) else { return nil }
        let next = last.addingTimeInterval(interval)
        return next > now ? next : nil
    }

    func edited(_ message: String, at now: Date) {
        guard interval > 0 else { return }
        lastEdits.withLock { edits in
            edits[message] = now
            // Messages not edited within the interval need no entry: the map stays as small
            // as the number of messages being edited right now.
            if edits.count > 256 { edits = edits.filter { now.timeIntervalSince($0.value) < interval } }
        }
    }
}
