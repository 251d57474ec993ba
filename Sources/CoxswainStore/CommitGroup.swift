import CoxswainCore
import GRDB
import Synchronization

/// Group commit for the webhook's writes: requests that arrive while a commit is in flight
/// are written together by the next transaction, each in its own savepoint, and each caller
/// is answered when that transaction is durable. `synchronous=FULL` then costs one fsync
/// per batch instead of one per request, and a request still gets its answer only once its
/// job is on disk. One request's failure (a conflict, an abandoned claim) rolls back its
/// savepoint only; a failure of the transaction itself fails the whole batch.
final class CommitGroup: Sendable {
    typealias Body = @Sendable (Database) throws -> any Sendable

    private struct Entry: Sendable {
        let body: Body
        let claim: WriteClaim?
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct Queue: Sendable {
        var entries: [Entry] = []
        var flushing = false
    }

    private let writer: any DatabaseWriter
    private let queue = Mutex(Queue())
    /// How many transactions carried how many writes, for the benchmark and tests.
    private let tally = Mutex((batches: 0, writes: 0))

    init(writer: any DatabaseWriter) { self.writer = writer }

    var counts: (batches: Int, writes: Int) { tally.withLock { $0 } }
    /// Writes waiting for the next transaction.
    var waiting: Int { queue.withLock { $0.entries.count } }

    /// Runs `body` in the next group transaction; returns once that transaction committed.
    func submit(claim: WriteClaim?, _ body: @escaping Body) async throws -> any Sendable {
        try await withCheckedThrowingContinuation { continuation in
            let startsFlushing = queue.withLock { queue in
                queue.entries.append(Entry(body: body, claim: claim, continuation: continuation))
                defer { queue.flushing = true }
                return !queue.flushing
            }
            if startsFlushing { scheduleFlush() }
        }
    }

    /// The batch is written on the writer's own queue, with no task in between: each hop from
    /// thread to thread costs about what the transaction does. One batch per turn, so the
    /// other writes waiting for the writer (the worker's) are not held back by a stream of
    /// webhook requests.
    private func scheduleFlush() {
        writer.asyncWriteWithoutTransaction { db in self.flush(db) }
    }

    private func flush(_ db: Database) {
        let batch = queue.withLock { queue in
            defer { queue.entries = [] }
            return queue.entries
        }
        if !batch.isEmpty { write(batch, db) }
        // What arrived meanwhile is the next batch, behind the writes waiting now.
        let more = queue.withLock { queue in
            if queue.entries.isEmpty { queue.flushing = false }
            return queue.flushing
        }
        if more { scheduleFlush() }
    }

    private func write(_ batch: [Entry], _ db: Database) {
        tally.withLock { $0.batches += 1; $0.writes += batch.count }
        var results: [Result<any Sendable, any Error>] = []
        do {
            try db.inTransaction {
                results = batch.map { entry in Self.run(entry, db) }
                return .commit
            }
        } catch {
            for entry in batch {
                entry.claim?.reopen()
                entry.continuation.resume(throwing: error)
            }
            return
        }
        for (entry, result) in zip(batch, results) { entry.continuation.resume(with: result) }
    }

    private static func run(_ entry: Entry, _ db: Database) -> Result<any Sendable, any Error> {
        do {
            var value: (any Sendable)?
            try db.inSavepoint {
                value = try entry.body(db)
                // A caller that stopped waiting gets no commit behind its back.
                if let claim = entry.claim, !claim.mayCommit() { throw CancellationError() }
                return .commit
            }
            guard let value else { throw CancellationError() }
            return .success(value)
        } catch {
            entry.claim?.reopen()
            return .failure(error)
        }
    }
}
