import CoxswainCore
@testable import CoxswainStore
import Foundation
import Synchronization
import Testing

/// A new job's first transition is built before its write for the id and queue place it will
/// most likely get; what is stored must be what building it inside the write would give.
@Suite struct NewJobForecastTests {
    /// Accepts a job of `release` whose one notice states the id and place it was built for.
    @discardableResult
    static func accept(_ db: AppDatabase, _ release: String, key: String) async throws -> IntakeResult {
        try await db.accept(
            AppDatabaseTests.request(release, model: release), approvalsRequired: 0, requestKey: key, references: [], now: Date(), join: nil,
            sendingNow: nil,
            created: { job, ahead in
                JobChange(job: job, notices: [.message("job \(job.id) with \(ahead) ahead", jobID: job.id, place: .thread)])
            },
            joined: { JobChange(job: $0) })
    }

    /// Every job's stored notice names the job's own id and the place it really got.
    static func expectNoticesTrue(_ db: AppDatabase, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let jobs = try await db.recentJobs(release: nil, limit: 1000)
        for job in jobs {
            let ahead = jobs.filter { $0.request.release == job.request.release && $0.id < job.id && [.queued, .running].contains($0.state) }
            let notices = try await db.notices(jobID: job.id).map(\.notice.plainText)
            // Jobs that finished since were ahead when the job was written, and counted then.
            let finishedAhead = jobs.filter { $0.request.release == job.request.release && $0.id < job.id && $0.state.isFinished }
            let possible = (ahead.count...(ahead.count + finishedAhead.count)).map { "job \(job.id) with \($0) ahead" }
            #expect(notices.count == 1 && possible.contains(notices[0]), "job #\(job.id): \(notices)", sourceLocation: sourceLocation)
        }
    }

    @Test("jobs written one after another are stored as built before their write; a place that changed is built again")
    func sequential() async throws {
        let db = try AppDatabase.inMemory()
        for n in 1...5 { try await Self.accept(db, "r", key: "k\(n)") }
        // The first job teaches the forecast the next id; the four after it came true.
        #expect(db.newJobForecastCounts == (right: 4, wrong: 0))
        try await Self.expectNoticesTrue(db)

        // A retry takes no id and a job of another release no place in this one's line.
        try await Self.accept(db, "r", key: "k2")
        try await Self.accept(db, "other", key: "o1")
        try await Self.accept(db, "r", key: "k6")
        #expect(db.newJobForecastCounts == (right: 6, wrong: 0))

        // Job 1 finished: the next one has one job fewer ahead than forecast, and says so.
        var done = try #require(try await db.job(id: 1))
        done.state = .succeeded
        try await db.commit(JobChange(job: done), now: Date())
        guard case .created(let job, let ahead, _) = try await Self.accept(db, "r", key: "k7") else { throw CancellationError() }
        #expect(job.id == 8 && ahead == 5)
        #expect(try await db.notices(jobID: 8).map(\.notice.plainText) == ["job 8 with 5 ahead"])
        #expect(db.newJobForecastCounts == (right: 6, wrong: 1))
        try await Self.accept(db, "r", key: "k8")
        #expect(db.newJobForecastCounts == (right: 7, wrong: 1))
    }

    @Test("requests written together, with retries among them, each store their own job's id and place, whatever was forecast")
    func concurrent() async throws {
        let db = try AppDatabase.open(path: HotPathTests.temporaryFile())
        try await Self.accept(db, "a", key: "warm")
        // Hold the writer so the requests pile up for one batch, in whatever order they reach it.
        let gate = DispatchSemaphore(value: 0)
        let inside = Mutex(false)
        let held = Task {
            try await db.commitGroup.submit(claim: nil) { _ in
                inside.withLock { $0 = true }
                gate.wait()
                return 0
            }
        }
        try await HotPathTests.until { inside.withLock { $0 } }
        let count = 30
        let results = Task {
            try await withThrowingTaskGroup(of: IntakeResult.self) { group in
                for n in 0..<count {
                    // Every fifth is a retry of the one before it.
                    let key = n % 5 == 4 ? "k\(n - 1)" : "k\(n)"
                    group.addTask { try await Self.accept(db, n % 3 == 0 ? "b" : "a", key: key) }
                }
                return try await group.reduce(into: [IntakeResult]()) { $0.append($1) }
            }
        }
        try await HotPathTests.until { db.commitGroup.waiting == count }
        gate.signal()
        _ = try await held.value
        let created = try await results.value.filter { if case .created = $0 { true } else { false } }
        #expect(created.count == count - count / 5)
        try await Self.expectNoticesTrue(db)
        let counts = db.newJobForecastCounts
        #expect(counts.right + counts.wrong == created.count)
        // Afterwards, with nothing in flight, the forecast is right again.
        try await Self.accept(db, "a", key: "after")
        #expect(db.newJobForecastCounts.right == counts.right + 1)
    }
}
