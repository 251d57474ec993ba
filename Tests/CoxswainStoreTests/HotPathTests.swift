import CoxswainCore
@testable import CoxswainStore
import Foundation
import GRDB
import Synchronization
import Testing

/// The store's share of issue 13: what runs on every request and every wake-up is an index
/// probe, and concurrent webhook writes share one durable transaction.
@Suite struct HotPathTests {
    static func temporaryFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
    }

    /// Every hot query with arguments of the right types.
    static let queries: [(name: String, sql: String, arguments: StatementArguments)] = [
        ("due notices", HotPathQueries.dueNotices, ["slack", Date(), 20]),
        ("next due notice", HotPathQueries.nextDueNotice, ["slack"]),
        ("joinable rollback", HotPathQueries.joinableRollback, ["r", false]),
        ("joinable rollback to a revision", HotPathQueries.joinableRollbackTo, ["r", 3, true]),
        ("jobs ahead", HotPathQueries.jobsAhead, ["r", 10]),
        ("oldest queued per release", HotPathQueries.oldestQueuedPerRelease, []),
        ("blocked", HotPathQueries.blocked, ["r", "m", "production"]),
        ("waiting since", HotPathQueries.waitingSince, ["production", Date()]),
        ("oldest waiting", HotPathQueries.oldestWaiting, ["production"]),
        ("unacknowledged emergencies", HotPathQueries.unacknowledgedEmergencies, []),
        ("basis missing", HotPathQueries.basisMissing, ["r"]),
        ("running releases", HotPathQueries.runningReleases, []),
        ("next job id", HotPathQueries.nextJobID, []),
    ]

    @Test("no query on the request, worker or notifier path scans a table or sorts outside an index", arguments: queries.indices)
    func queryPlans(index: Int) async throws {
        let query = Self.queries[index]
        let db = try AppDatabase.inMemory()
        let plan = try await db.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.sql, arguments: query.arguments).map { $0["detail"] as String }
        }
        // "SCAN job" (or "SCAN notice") reads every row; a CTE's own rows ("SCAN queued") are one per release;
        // a partial index that holds exactly the answer (unacknowledged break-glass jobs) may be read whole.
        let scans = plan.filter {
            ($0.hasPrefix("SCAN job") || $0.hasPrefix("SCAN notice") || $0.contains("TEMP B-TREE")) && $0 != "SCAN job USING INDEX job_unacknowledged"
        }
        #expect(scans.isEmpty, "\(query.name): \(plan.joined(separator: " | "))")
    }

    @Test("requests that arrive while a commit is in flight are written by the next transaction, each answered when it is durable")
    func groupCommit() async throws {
        let (db, gate, held, first) = try await Self.firstBatchInFlight()
        let count = 40
        let rest = Task {
            try await withThrowingTaskGroup(of: Job.self) { group in
                for n in 0..<count { group.addTask { try await AppDatabaseTests.accept(db, "r\(n)", key: "k\(n)", model: "m\(n)") } }
                return try await group.reduce(into: [Job]()) { $0.append($1) }
            }
        }
        try await Self.until { db.commitGroup.waiting == count }
        gate.signal()
        try await held.value
        let jobs = try await rest.value + [first.value]
        #expect(Set(jobs.map(\.id)).count == count + 1)
        #expect(db.groupCommitCounts == (batches: 2, writes: count + 1))
        #expect(try await db.recentJobs(release: nil, limit: 100).count == count + 1)
    }

    @Test("a request its caller gave up on rolls back alone; the rest of its batch commits")
    func abandonedInBatch() async throws {
        let (db, gate, held, first) = try await Self.firstBatchInFlight()
        let claim = WriteClaim()
        let abandoned = Task { try await WriteClaim.$current.withValue(claim) { try await AppDatabaseTests.accept(db, "a", key: "gone") } }
        let kept = Task { try await AppDatabaseTests.accept(db, "b", key: "kept", model: "m2") }
        try await Self.until { db.commitGroup.waiting == 2 }
        #expect(claim.abandon())
        gate.signal()
        try await held.value
        await #expect(throws: StoreFailure.self) { try await abandoned.value }
        #expect(try await kept.value.request.release == "b")
        _ = try await first.value
        #expect(db.groupCommitCounts == (batches: 2, writes: 3))
        #expect(try await db.recentJobs(release: nil, limit: 10).map(\.request.release) == ["b", "first"])
    }

    @Test("the jobs ahead in line are counted up to one more than the counted limit, however long the line")
    func jobsAheadAreBounded() async throws {
        let db = try AppDatabase.inMemory()
        var aheads: [Int] = []
        for n in 0..<(JobLifecycle.countedAhead + 3) {
            let result = try await db.accept(
                AppDatabaseTests.request("r"), approvalsRequired: 0, requestKey: "k\(n)", references: [], now: Date(), join: nil,
                created: { job, _ in JobChange(job: job) }, joined: { JobChange(job: $0) })
            if case .created(_, let ahead) = result { aheads.append(ahead) }
        }
        #expect(Array(aheads.prefix(3)) == [0, 1, 2])
        #expect(aheads.suffix(3) == [JobLifecycle.countedAhead, JobLifecycle.countedAhead + 1, JobLifecycle.countedAhead + 1])
    }

    @Test("planning reads one row per revision: what each helm rollback created and left, within helm's history window")
    func revisionRecords() async throws {
        let db = try AppDatabase.inMemory()
        func rollback(from: Int, to: Int, status: StepStatus, key: String) async throws -> Job {
            var job = try await AppDatabaseTests.accept(db, "r", key: key)
            job.plan = RollbackPlan(
                from: HelmRevision(revision: from, status: "deployed", chart: "c-0.2.0", appVersion: "1"),
                to: HelmRevision(revision: to, status: "superseded", chart: "c-0.1.0", appVersion: "1"))
            job.steps = [JobStep(position: 0, action: "helm.rollback", title: "Helm rollback", status: status, startedAt: Date())]
            return try await db.commit(JobChange(job: job), now: Date())
        }
        let first = try await rollback(from: 5, to: 4, status: .succeeded, key: "a")
        let failed = try await rollback(from: 6, to: 4, status: .failed, key: "b")
        #expect(try await db.revisionsRolledBackFrom(release: "r", since: 0) == [5])
        #expect(try await db.revisionsRolledBackFrom(release: "r", since: 6).isEmpty)
        #expect(try await db.jobsByCreatedRevision(release: "r", since: 0).mapValues(\.id) == [6: first.id, 7: failed.id])
        #expect(try await db.jobsByCreatedRevision(release: "r", since: 7).mapValues(\.id) == [7: failed.id])
        #expect(try await db.revisionsRolledBackFrom(release: "other", since: 0).isEmpty)
    }

    /// Waits for a condition, failing the test after 30 s. The conditions here (a write
    /// queued, a connection held) come true within milliseconds, so it yields rather than sleeps.
    static func until(_ condition: @escaping @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            await Task.yield()
        }
    }

    /// A file database whose first grouped transaction is in flight, held inside (as a slow
    /// fsync would hold it): requests sent now pile up for the next transaction. Signal the
    /// semaphore to let it commit; `held` ends when it has.
    static func firstBatchInFlight() async throws -> (AppDatabase, DispatchSemaphore, Task<Void, any Error>, Task<Job, any Error>) {
        let db = try AppDatabase.open(path: temporaryFile())
        let gate = DispatchSemaphore(value: 0)
        let inside = Mutex(false)
        let first = Task {
            try await db.accept(
                AppDatabaseTests.request("first", model: "first"), approvalsRequired: 0, requestKey: "first", references: [], now: Date(), join: nil,
                created: { job, _ in
                    inside.withLock { $0 = true }
                    gate.wait()  // on the writer's queue, inside the transaction
                    return JobChange(job: job)
                },
                joined: { JobChange(job: $0) }
            ).job
        }
        try await until { inside.withLock { $0 } && db.commitGroup.waiting == 0 && db.commitGroup.counts.batches == 1 }
        let held = Task { _ = try await first.value }
        return (db, gate, held, first)
    }
}
