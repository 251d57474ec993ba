import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Deletes what `retention:` no longer keeps (messages of finished jobs, request keys), so
/// the database stops growing with them: at start and then every `interval`, in batches of
/// `batchSize`, each its own short transaction, and after each a pause four times as long as
/// the batch took: retention takes at most a fifth of the writer, so the webhook's latency
/// does not change while it runs (Benchmarks/retention.sh). Only the lease holder prunes.
struct RetentionService: Service, CustomStringConvertible {
    let retention: CoxswainConfiguration.Retention
    let store: any RetentionStore
    let lease: LeaseKeeper
    let now: @Sendable () -> Date
    let logger: Logger
    var interval: Duration = .seconds(3600)
    var batchSize = 50
    /// The pause after a batch, per unit of the time it took, and at least `minimumPause`.
    var pacing = 4
    var minimumPause: Duration = .milliseconds(50)
    /// Told after each pass, for tests.
    var passed: WorkSignal?

    var description: String { "RetentionService" }

    func run() async throws {
        guard retention.notices != nil || retention.requestKeys != nil else {
            // Nothing to delete. Wait for the shutdown all the same: a service that returns
            // early ends the whole server (ServiceGroup), as `forever` for both once did.
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard await lease.waitUntilHeld() else { return }
            await prune()
            passed?.signal()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over both kinds of record; a store failure ends the pass (the next one retries).
    func prune() async {
        if let age = retention.notices {
            await prune("messages of finished jobs", olderThan: age) { cutoff, cursor in
                try await store.pruneNotices(before: cutoff, after: cursor, limit: batchSize)
            }
        }
        if let age = retention.requestKeys {
            await prune("request keys", olderThan: age) { cutoff, cursor in
                try await store.pruneRequestKeys(before: cutoff, after: cursor, limit: batchSize)
            }
        }
    }

    private func prune(_ what: String, olderThan age: GoDuration, batch: (Date, Int64) async throws -> RetentionBatch) async {
        let cutoff = now().addingTimeInterval(-Double(age.milliseconds) / 1000)
        var cursor: Int64 = 0
        var deleted = 0
        do {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let started = ContinuousClock.now
                let result = try await batch(cutoff, cursor)
                deleted += result.deleted
                cursor = result.cursor
                if result.done { break }
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: max(minimumPause, (ContinuousClock.now - started) * pacing)) }
            }
        } catch is CancellationError {
            logger.notice("retention: deleted \(deleted) \(what) older than \(age) before the shutdown; the rest after the next start")
            return
        } catch {
            logger.error("retention: deleting \(what) older than \(age) stopped after \(deleted): \(error); the next pass tries again")
            return
        }
        if deleted > 0 { logger.notice("retention: deleted \(deleted) \(what) older than \(age)") }
    }
}
