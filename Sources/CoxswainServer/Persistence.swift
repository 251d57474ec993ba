import CoxswainCore
import Foundation
import Logging
import Synchronization

/// How a caller writes to the store when the store misbehaves (locked by another process,
/// disk full, I/O errors): the worker keeps trying until the store is back, so a job's
/// state is never lost and never left `running`; the webhook gives up after a deadline so
/// Slack gets an answer within its 3 seconds.
struct Persistence: Sendable {
    /// nil: keep trying until the task is cancelled.
    let deadline: Duration?
    let logger: Logger

    static func patient(_ logger: Logger) -> Persistence { Persistence(deadline: nil, logger: logger) }
    /// The webhook's budget: the answer must leave well within Slack's 3 seconds, and within a
    /// second end to end while the store is away (a PostgreSQL failover): 800 ms for the store,
    /// the rest for the answer's way back.
    static func webhook(_ logger: Logger) -> Persistence { Persistence(deadline: .milliseconds(800), logger: logger) }

    /// Runs `operation`, retrying transient store failures with backoff. With a deadline, the
    /// caller has its answer when the deadline passes, whatever the store is doing: the write
    /// is abandoned (it rolls back if it ever reaches its commit; see `WriteClaim`) unless its
    /// commit is already under way, whose result is then waited for.
    func run<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let seen = LastFailure()
        guard let deadline else { return try await retrying(what, operation, seen) }
        let claim = WriteClaim()
        let race = Race<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.start(continuation)
            let work = Task {
                do {
                    let value = try await WriteClaim.$current.withValue(claim) { try await retrying(what, operation, seen) }
                    race.finish(.success(value))
                } catch {
                    race.finish(.failure(error))
                }
            }
            race.watch(
                with: Task {
                    do { try await cancellableSleep(for: deadline) } catch { return }  // the write finished first
                    guard claim.abandon() else { return }  // committing: its own result answers
                    work.cancel()
                    let failure =
                        seen.value.withLock { $0 }
                        ?? StoreFailure(kind: .cancelled, location: "the database", operation: what, detail: "no answer within \(deadline)")
                    race.finish(.failure(failure))
                })
        }
    }

    /// The first of the operation and the deadline to finish answers the caller; the other
    /// is stopped (a deadline left sleeping would hold its timer for the whole second).
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, Error>?
            var watchdog: Task<Void, Never>?
            var finished = false
        }

        private let state = Mutex(State())
        func start(_ continuation: CheckedContinuation<T, Error>) { state.withLock { $0.continuation = continuation } }

        func watch(with watchdog: Task<Void, Never>) {
            let finished = state.withLock { state in
                if !state.finished { state.watchdog = watchdog }
                return state.finished
            }
            if finished { watchdog.cancel() }
        }

        func finish(_ result: Result<T, Error>) {
            let (continuation, watchdog) = state.withLock { state in
                defer { (state.continuation, state.watchdog, state.finished) = (nil, nil, true) }
                return (state.continuation, state.watchdog)
            }
            watchdog?.cancel()
            continuation?.resume(with: result)
        }
    }

    private final class LastFailure: Sendable { let value = Mutex<StoreFailure?>(nil) }

    private func retrying<T: Sendable>(_ what: String, _ operation: @Sendable () async throws -> T, _ seen: LastFailure) async throws -> T {
        var attempt = 0
        var lastReport = ContinuousClock.now - .seconds(3600)
        while true {
            do {
                let value = try await operation()
                if attempt > 0 { logger.notice("\(what): the store is back after \(attempt) retries") }
                return value
            } catch let failure as StoreFailure where failure.isTransient && failure.kind != .cancelled {
                seen.value.withLock { $0 = failure }
                attempt += 1
                if ContinuousClock.now - lastReport > .seconds(30) {
                    logger.error("\(what): \(failure); retrying until the store is back")
                    lastReport = ContinuousClock.now
                }
                let delay = min(5.0, 0.05 * pow(2, Double(min(attempt, 10))))
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            }
        }
    }
}

/// Applies a transition to the newest version of a job: when someone else changed the job
/// meanwhile (a cancel request during a step, an approval), the job is read again and the
/// transition decided again on what it now is. A runner's writes are fenced: the version check
/// makes each one conditional on the job being as read, and the read must show its claim.
struct JobTransitions: Sendable {
    /// A runner's writes: only while it holds the job's claim in this generation.
    struct Fence: Sendable {
        let runner: RunnerIdentity
        let generation: Int
    }

    let jobs: any JobStore
    let persistence: Persistence
    let now: @Sendable () -> Date
    var fence: Fence? = nil

    /// - Parameter make: the transition for the job as it is; nil when there is nothing to do.
    /// - Throws: `ClaimLost` when the job is fenced and another runner holds it now.
    @discardableResult
    func apply(_ job: Job, _ what: String, _ make: @escaping @Sendable (Job) throws -> JobChange?) async throws -> Job {
        var current = job
        while true {
            if let fence, !current.holds(fence.runner, generation: fence.generation) { throw ClaimLost(jobID: current.id) }
            guard let change = try make(current) else { return current }
            do {
                let jobs = self.jobs, now = self.now
                return try await persistence.run(what) { try await jobs.commit(change, now: now()) }
            } catch is StoreConflict {
                let jobs = self.jobs, id = current.id
                guard let fresh = try await persistence.run("read job #\(id)", { try await jobs.job(id: id) }) else { throw StoreConflict(jobID: id) }
                current = fresh
            }
        }
    }
}
