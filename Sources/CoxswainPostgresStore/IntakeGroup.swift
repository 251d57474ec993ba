import CoxswainCore
import Foundation
import PostgresNIO
import Synchronization

/// Group commit for new jobs on PostgreSQL, as `CommitGroup` is on SQLite: requests with
/// nothing to join that arrive while a group is being written go together in the next
/// transaction. One statement takes their request keys, job ids and places in line, one
/// writes their jobs with everything beside them, and one COMMIT (one WAL flush) makes them
/// durable; each caller is answered then. The four round trips a request took are shared by
/// the group (Benchmarks/README.md, "The webhook on PostgreSQL").
///
/// A caller that gave up before its job was written (its `WriteClaim`, past the webhook's
/// budget) is left out, and its request key forgotten in the same statement. A retry that
/// arrives beside its original waits for the next group, and finds the job recorded. A
/// failure of the transaction fails the group: each caller hears it, and nothing of it stays.
final class IntakeGroup: Sendable {
    struct Request: Sendable {
        let request: JobRequest
        let approvalsRequired: Int
        let requestKey: String
        let references: [MessageReference]
        let now: Date
        let created: @Sendable (Job, Int) -> JobChange
    }

    struct Entry: Sendable {
        let asked: Request
        let claim: WriteClaim?
        let continuation: CheckedContinuation<IntakeResult, any Error>
    }

    private struct Queue {
        var entries: [Entry] = []
        var writers = 0
    }

    /// Groups written at once. More than one, so a transaction that is slow (a connection the
    /// server dropped, a lock wait) holds only its own group; few, so groups stay large under load.
    static let writers = 2

    /// The most requests one transaction takes: its statement's bind parameters stay far
    /// below PostgreSQL's 65,535, and a group still commits within milliseconds.
    static let largest = 64
    private let queue = Mutex(Queue())
    private let tally = Mutex((groups: 0, requests: 0))

    /// How many transactions carried how many requests, for the benchmark and tests.
    var counts: (groups: Int, requests: Int) { tally.withLock { $0 } }

    /// Records `asked` in the next group's transaction; returns once it committed.
    func submit(_ asked: Request, to store: PostgresStore) async throws -> IntakeResult {
        let claim = WriteClaim.current
        return try await withCheckedThrowingContinuation { continuation in
            let starts = queue.withLock { queue in
                queue.entries.append(Entry(asked: asked, claim: claim, continuation: continuation))
                guard queue.writers < Self.writers else { return false }
                queue.writers += 1
                return true
            }
            // Detached: the writer must not take the first caller's claim for its own.
            if starts { Task.detached { await self.flush(store) } }
        }
    }

    private func flush(_ store: PostgresStore) async {
        while let group = next() {
            tally.withLock {
                $0.groups += 1
                $0.requests += group.count
            }
            let results = await store.accept(together: group)
            for (entry, result) in zip(group, results) { entry.continuation.resume(with: result) }
        }
    }

    /// The next group: the waiting requests, one per request key, at most `largest`; nil,
    /// and one writer fewer, when none waits.
    private func next() -> [Entry]? {
        queue.withLock { queue in
            guard !queue.entries.isEmpty else {
                queue.writers -= 1
                return nil
            }
            var keys = Set<String>()
            var group: [Entry] = [], rest: [Entry] = []
            for entry in queue.entries {
                if group.count < Self.largest, keys.insert(entry.asked.requestKey).inserted { group.append(entry) } else { rest.append(entry) }
            }
            queue.entries = rest
            return group
        }
    }
}

extension PostgresStore {
    /// One transaction for a group of requests with nothing to join: a result per request, in order.
    func accept(together group: [IntakeGroup.Entry]) async -> [Result<IntakeResult, any Error>] {
        let location = self.location
        do {
            return try await write("record \(group.count) request(s)") { db in try await Self.accept(together: group, location: location, db) }
        } catch {
            for entry in group { entry.claim?.reopen() }
            return group.map { _ in .failure(error) }
        }
    }

    private typealias Answers = [Result<IntakeResult, any Error>]

    private static func accept(together group: [IntakeGroup.Entry], location: String, _ db: PostgresConnection) async throws -> Answers {
        let taken = try await takeKeys(group, location: location, db)
        var results = [Result<IntakeResult, any Error>?](repeating: nil, count: group.count)
        var new: [NewJob] = [], places: [(index: Int, ahead: Int)] = [], dropping: [String] = []
        var earlier: [String: Int] = [:]
        for (index, (entry, row)) in zip(group, taken).enumerated() {
            let asked = entry.asked
            guard let id = row.id else {
                do { results[index] = .success(try await duplicate(asked.requestKey, location: location, db)) } catch { results[index] = .failure(error) }
                continue
            }
            // The group's earlier requests for the release are ahead too: the count could not see them.
            let ahead = row.ahead + earlier[asked.request.release, default: 0]
            earlier[asked.request.release, default: 0] += 1
            let job = Job(id: id, request: asked.request, approvalsRequired: asked.approvalsRequired, createdAt: Stamp.rounded(asked.now))
            let change = asked.created(job, ahead)
            do {
                try refuseMoreThanIntake(change, location: location)
                // A caller that stopped waiting gets no job behind its back.
                if let claim = entry.claim, !claim.mayCommit() {
                    throw StoreFailure(postgres: CancellationError(), location: location, operation: "record job #\(id)")
                }
            } catch {
                results[index] = .failure(error)
                dropping.append(asked.requestKey)
                continue
            }
            new.append(NewJob(change: change, requestKey: asked.requestKey, references: asked.references, now: asked.now))
            places.append((index, ahead))
        }
        let jobs = try await insertAccepted(new, dropping: dropping, location: location, db)
        for (place, job) in zip(places, jobs) { results[place.index] = .success(.created(job, jobsAhead: place.ahead)) }
        return results.map { $0 ?? .failure(StoreConflict(jobID: 0)) }
    }

    /// One statement for the group: each request key taken if new, with a job id and the
    /// number of jobs ahead of it; nil for a key already taken (a retry).
    private static func takeKeys(_ group: [IntakeGroup.Entry], location: String, _ db: PostgresConnection) async throws -> [(id: Int64?, ahead: Int)] {
        var statement = Statement(bindings: PostgresBindings(), count: 0)
        let rows = group.enumerated().map { index, entry in
            "(\(statement.bind(Int64(index))), \(statement.bind(entry.asked.requestKey)), \(statement.bind(Stamp(entry.asked.now))), "
                + "\(statement.bind(entry.asked.request.release)))"
        }
        // Keys are inserted in one order by every replica, so two groups never wait on each other's keys crosswise.
        let sql = """
            WITH asked (n, key, receivedAt, release) AS (VALUES \(rows.joined(separator: ", "))),
            fresh AS (INSERT INTO receivedRequest (key, receivedAt) SELECT key, receivedAt FROM asked ORDER BY key ON CONFLICT (key) DO NOTHING RETURNING key)
            SELECT asked.n, CASE WHEN fresh.key IS NOT NULL THEN nextval('job_id_seq') END AS id,
                (SELECT COUNT(*) FROM (SELECT 1 FROM job WHERE job.release = asked.release AND job.state IN ('queued', 'running')
                    LIMIT \(JobLifecycle.countedAhead + 1)) AS queue) AS ahead
            FROM asked LEFT JOIN fresh ON fresh.key = asked.key ORDER BY asked.n
            """
        let taken = try await db.rows(PostgresQuery(unsafeSQL: sql, binds: statement.bindings))
        guard taken.count == group.count else {
            throw StoreFailure(
                kind: .other, location: location, operation: "take job ids", detail: "\(taken.count) rows came back for \(group.count) requests")
        }
        return try taken.map { (try $0("id", Int64?.self), try $0("ahead", Int.self)) }
    }
}
