import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Deletes what `retention:` no longer keeps (messages of finished jobs, request keys), so
/// the database stops growing with them: at start and then every `interval`, in batches of
/// `batchSize`, each its own short transaction, yielding between them so the webhook's and
/// the worker's writes go first. Only the server holding the lease prunes.
struct RetentionService: Service, CustomStringConvertible {
    let retention: CoxswainConfiguration.Retention
    let store: any RetentionStore
    let lease: LeaseKeeper
    let now: @Sendable () -> Date
    let logger: Logger
    var interval: Duration = .seconds(3600)
    var batchSize = 200
    /// Told after each pass, for tests.
    var passed: WorkSignal?

    var description: String { "RetentionService" }

    func run() async throws {
        guard retention.notices != nil || retention.requestKeys != nil else { return }
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
                let result = try await batch(cutoff, cursor)
                deleted += result.deleted
                cursor = result.cursor
                if result.done { break }
                await Task.yield()
            }
        } catch {
            logger.error("retention: deleting \(what) older than \(age) stopped after \(deleted): \(error); the next pass tries again")
            return
        }
        if deleted > 0 { logger.notice("retention: deleted \(deleted) \(what) older than \(age)") }
    }
}
