import CoxswainCore
import Synchronization

/// Where the next new job will most likely land: its id and how many jobs of its release are
/// ahead of it. The webhook's writes all go through one writer, so whatever a request's write
/// does inside the transaction holds up every request behind it. With a forecast, a request
/// builds its job's first transition (notices, audit entries) and serialises its notices
/// before it queues for the writer; the transaction reads the real id and queue position and
/// uses that work only when both match, building it again when they do not (a retry or a join
/// that took no id, a job that finished meanwhile). A wrong forecast costs time, never
/// correctness, and the next job written corrects it.
final class NewJobForecast: Sendable {
    private struct State {
        /// The id after the last job the writer created; nil until it created one.
        var nextID: Int64?
        /// Forecasts handed out and not yet settled by the writer, in all and per release.
        var pending = 0
        var pendingByRelease: [String: Int] = [:]
        /// The queue position the next job of a release would get, from the last one written.
        var aheadOfNext: [String: Int] = [:]
    }

    /// One request's forecast. Settled exactly once: by the writer when the request's write
    /// runs, or by the request when its write never ran.
    final class Ticket: Sendable {
        let id: Int64
        let jobsAhead: Int
        let release: String
        fileprivate let settled = Atomic(false)
        fileprivate init(id: Int64, jobsAhead: Int, release: String) { self.id = id; self.jobsAhead = jobsAhead; self.release = release }
    }

    private let state = Mutex(State())
    private let tally = Mutex((right: 0, wrong: 0))

    /// How many forecasts the writer found right and wrong, for tests and the benchmark.
    var counts: (right: Int, wrong: Int) { tally.withLock { $0 } }

    func count(right: Bool) {
        tally.withLock { if right { $0.right += 1 } else { $0.wrong += 1 } }
    }

    /// A forecast for a new job of `release`, or nil while nothing is known yet. Requests
    /// still waiting for the writer come first: each is expected to take the next id and,
    /// if it queues, the next place.
    func forecast(release: String) -> Ticket? {
        state.withLock { state in
            guard let next = state.nextID else { return nil }
            let sameRelease = state.pendingByRelease[release, default: 0]
            let ahead = min(state.aheadOfNext[release, default: 0] + sameRelease, JobLifecycle.countedAhead + 1)
            let ticket = Ticket(id: next + Int64(state.pending), jobsAhead: ahead, release: release)
            state.pending += 1
            state.pendingByRelease[release] = sameRelease + 1
            return ticket
        }
    }

    /// Called by the writer inside the transaction: the job it created (nil: a retry or a
    /// join) with the queue position it read, whether that job takes a place in the queue.
    /// Also for writes that came without a ticket, so the forecast starts.
    func settle(_ ticket: Ticket?, created: (id: Int64, release: String, jobsAhead: Int, queues: Bool)?) {
        state.withLock { state in
            if let ticket { Self.drop(ticket, &state) }
            guard let created else { return }
            state.nextID = created.id + 1
            state.aheadOfNext[created.release] = min(created.jobsAhead + (created.queues ? 1 : 0), JobLifecycle.countedAhead + 1)
        }
    }

    /// Called by the request after its write returned or failed; a no-op when the writer settled it.
    func abandon(_ ticket: Ticket?) {
        guard let ticket else { return }
        state.withLock { Self.drop(ticket, &$0) }
    }

    private static func drop(_ ticket: Ticket, _ state: inout State) {
        guard !ticket.settled.exchange(true, ordering: .relaxed) else { return }
        state.pending -= 1
        let left = state.pendingByRelease[ticket.release, default: 1] - 1
        state.pendingByRelease[ticket.release] = left > 0 ? left : nil
    }
}

/// A new job's first transition built before its write, with its notices serialised.
struct PreparedJob: Sendable {
    let change: JobChange
    let payloads: [String]
}
