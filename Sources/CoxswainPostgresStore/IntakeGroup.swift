import CoxswainCore
import Foundation
import PostgresNIO
import Synchronization

/// Group commit for new jobs on PostgreSQL, as `CommitGroup` is on SQLite: requests with
/// nothing to join that arrive while a group is being written go together in the next group.
/// One statement takes their job ids and places in line, one writes their request keys and
/// jobs with everything beside them, committed by itself (one WAL flush); each caller is
/// answered then. Two round trips per group, where a request alone took four
/// (Benchmarks/README.md, "The webhook on PostgreSQL").
///
/// A caller that gave up before its job was written (its `WriteClaim`, past the webhook's
/// budget) is left out of the writing statement, so nothing of it is recorded. A retry that
/// arrives beside its original waits for the next group, and finds the job recorded. A
/// failure of the writing statement fails the group: each caller hears it, and nothing of it stays.
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
    /// A group of requests with nothing to join, in two statements outside a transaction:
    /// one takes their job ids, one writes them (`IntakeStatements.swift`). Only the second
    /// records anything, so what it does not write was never recorded. A result per request, in order.
    func accept(together group: [IntakeGroup.Entry]) async -> [Result<IntakeResult, any Error>] {
        let location = self.location, platforms = noticePlatforms
        do {
            return try await write("record \(group.count) request(s)", alone: true) { db in
                try await Self.accept(together: group, location: location, platforms: platforms, db)
            }
        } catch {
            for entry in group { entry.claim?.reopen() }
            return group.map { _ in .failure(error) }
        }
    }

    private typealias Answers = [Result<IntakeResult, any Error>]

    private static func accept(
        together group: [IntakeGroup.Entry], location: String, platforms: NoticePlatforms, _ db: PostgresConnection
    ) async throws -> Answers {
        let asked = TakeJobIDs(keys: group.map(\.asked.requestKey), releases: group.map(\.asked.request.release))
        let taken = try await db.rows(asked)
        guard taken.count == group.count else {
            throw StoreFailure(
                kind: .other, location: location, operation: "take job ids", detail: "\(taken.count) rows came back for \(group.count) requests")
        }
        var results = [Result<IntakeResult, any Error>?](repeating: nil, count: group.count)
        var new: [NewJob] = [], places: [(index: Int, ahead: Int)] = []
        var earlier: [String: Int] = [:]
        let names = platforms.names
        for (index, (entry, row)) in zip(group, taken).enumerated() {
            let asked = entry.asked
            guard let id = row.id else {
                results[index] = await retried(asked.requestKey, job: row.seenJob, location: location, db)
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
                continue
            }
            new.append(
                NewJob(
                    change: change, requestKey: asked.requestKey, references: asked.references, now: asked.now, platforms: names,
                    postsDue: platforms.postsDue(now: asked.now)))
            places.append((index, ahead))
        }
        let written = Dictionary(uniqueKeysWithValues: try await insertAccepted(new, location: location, db).map { ($0.id, $0) })
        for (place, new) in zip(places, new) {
            if let job = written[new.change.job.id] {
                results[place.index] = .success(.created(job, jobsAhead: place.ahead))
            } else {
                // Its key was taken meanwhile: a retry that reached another replica, or the next group, first.
                results[place.index] = await retried(new.requestKey, job: nil, location: location, db)
            }
        }
        return results.map { $0 ?? .failure(StoreConflict(jobID: 0)) }
    }

    /// The answer to a request whose key was recorded before: the job it made.
    private static func retried(_ requestKey: String, job id: Int64?, location: String, _ db: PostgresConnection) async -> Result<IntakeResult, any Error> {
        do {
            if let id, let job = try await loadJob(id: id, db) { return .success(.duplicate(job)) }
            return .success(try await duplicate(requestKey, location: location, db))
        } catch {
            return .failure(error)
        }
    }
}

