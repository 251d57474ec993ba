import CoxswainCore
@testable import CoxswainStore
import Foundation
import GRDB
import Testing

@Suite struct AppDatabaseTests {
    static func request(_ release: String, model: String = "m", user: String = "U1") -> JobRequest {
        JobRequest(
            kind: .rollback, command: "/rollback", release: release, environment: "production", namespace: "production", model: model,
            requestedBy: user, channel: "C1", platform: "slack")
    }

    @discardableResult
    static func accept(_ db: AppDatabase, _ release: String, key: String, model: String = "m", notices: [Notice] = []) async throws -> Job {
        try await db.accept(
            request(release, model: model), approvalsRequired: 0, requestKey: key, references: [], now: Date(), join: nil,
            created: { job, _ in
                JobChange(
                    job: job, audit: [AuditDraft(actor: "U1", event: "job.requested", detail: "")],
                    notices: notices.map { Notice(jobID: job.id, place: $0.place, body: $0.body) })
            },
            joined: { JobChange(job: $0) }
        ).job
    }

    static func claim(_ db: AppDatabase) async throws -> Job? {
        try await db.claimNext(now: Date()) { job in
            var running = job
            running.state = .running
            running.runnerID = "test"
            return JobChange(job: running)
        }
    }

    @Test("one job per release (and per model in an environment) runs at a time; others are not held up")
    func claimsOnePerReleaseAndModel() async throws {
        let db = try AppDatabase.inMemory()
        try await Self.accept(db, "a", key: "1")
        try await Self.accept(db, "a", key: "2")
        try await Self.accept(db, "b", key: "3", model: "other")
        try await Self.accept(db, "c", key: "4")  // same model and environment as a
        let first = try #require(try await Self.claim(db))
        let second = try #require(try await Self.claim(db))
        #expect(first.request.release == "a" && second.request.release == "b")
        #expect(try await Self.claim(db) == nil)
        var done = first
        done.state = .succeeded
        try await db.commit(JobChange(job: done), now: Date())
        #expect(try await Self.claim(db)?.id == 2)
    }

    @Test("the database itself refuses a second running job for a release")
    func uniqueRunningIndex() async throws {
        let db = try AppDatabase.inMemory()
        let one = try await Self.accept(db, "a", key: "1")
        let two = try await Self.accept(db, "a", key: "2")
        for job in [one, two] {
            var running = job
            running.state = .running
            if job.id == one.id {
                try await db.commit(JobChange(job: running), now: Date())
            } else {
                await #expect(throws: StoreFailure.self) { try await db.commit(JobChange(job: running), now: Date()) }
            }
        }
    }

    @Test("a change made from an outdated read is refused, and nothing of it is written")
    func optimisticVersionCheck() async throws {
        let db = try AppDatabase.inMemory()
        let job = try await Self.accept(db, "a", key: "1")
        var cancelled = job
        cancelled.cancelRequestedBy = "U2"
        try await db.commit(JobChange(job: cancelled, audit: [AuditDraft(actor: "U2", event: "job.cancel_requested", detail: "")]), now: Date())
        var stale = job
        stale.outcome = "from an old read"
        await #expect(throws: StoreConflict.self) {
            try await db.commit(JobChange(job: stale, audit: [AuditDraft(actor: "x", event: "stale", detail: "")]), now: Date())
        }
        let stored = try #require(try await db.job(id: job.id))
        #expect(stored.cancelRequestedBy == "U2" && stored.outcome == nil && stored.version == 2)
        #expect(try await db.tail(limit: 10).map(\.event) == ["job.requested", "job.cancel_requested"])
    }

    @Test func aRepeatedRequestKeyReturnsTheFirstJob() async throws {
        let db = try AppDatabase.inMemory()
        let first = try await Self.accept(db, "a", key: "slack:t1")
        let again = try await db.accept(
            Self.request("a"), approvalsRequired: 0, requestKey: "slack:t1", references: [], now: Date(),
            join: nil, created: { job, _ in JobChange(job: job) }, joined: { JobChange(job: $0) })
        guard case .duplicate(let job) = again else { Issue.record("not a duplicate: \(again)"); return }
        #expect(job.id == first.id)
        #expect(try await db.recentJobs(release: nil, limit: 10).count == 1)
        #expect(try await db.tail(limit: 10).count == 1)
    }

    @Test("a live message keeps its turn: newer content replaces an undelivered one, thread replies wait behind it")
    func outboxOrderAndReplacing() async throws {
        let db = try AppDatabase.inMemory()
        let live = Notice.message("posted", jobID: nil, place: .live)
        let job = try await Self.accept(db, "a", key: "k", notices: [live])
        try await db.commit(
            JobChange(job: job, notices: [.message("detail", jobID: job.id, place: .thread), .message("u2", jobID: job.id, place: .live)]),
            now: Date())
        var batch = try await db.due(platform: "slack", now: Date(), limit: 10)
        #expect(batch.map(\.notice.plainText) == ["u2"])  // "posted" was replaced by "u2", in its turn
        #expect(try await db.due(platform: "slack", now: Date(), limit: 10).isEmpty)  // in flight: the thread reply waits
        #expect(try await db.inFlight(platform: "slack").map(\.id) == batch.map(\.id))
        try await db.retry(batch[0].id, error: "429", notBefore: Date().addingTimeInterval(60), countsAsAttempt: false)
        #expect(try await db.due(platform: "slack", now: Date(), limit: 10).isEmpty)
        batch = try await db.due(platform: "slack", now: Date().addingTimeInterval(61), limit: 10)
        #expect(batch.map(\.notice.plainText) == ["u2"] && batch[0].attempts == 0)
        try await db.delivered(
            batch[0].id, reference: MessageReference(jobID: job.id, platform: "slack", role: "live", channel: "C1", ts: "111.222"),
            now: Date())
        #expect(try await db.references(jobID: job.id, platform: "slack").map(\.ts) == ["111.222"])
        batch = try await db.due(platform: "slack", now: Date(), limit: 10)
        #expect(batch.map(\.notice.plainText) == ["detail"])
    }

    @Test("a new job is written once, as the lifecycle made it: what is returned is what a read gives; ids follow the sequence")
    func newJobWrittenOnce() async throws {
        let db = try AppDatabase.inMemory()
        let reply = MessageReference(jobID: 0, platform: "slack", role: "person:U1", url: "https://hooks.slack.com/commands/1")
        let result = try await db.accept(
            Self.request("a"), approvalsRequired: 0, requestKey: "k", references: [reply], now: Date(), join: nil,
            created: { job, _ in
                JobChange(job: job, notices: [.message("queued", jobID: job.id, place: .live), .message("audit", jobID: job.id, place: .auditChannel)])
            },
            joined: { JobChange(job: $0) })
        guard case .created(let job, _) = result else { Issue.record("not created: \(result)"); return }
        #expect(try await db.job(id: job.id) == job && job.id == 1 && job.version == 1)
        #expect(try await db.references(jobID: job.id, platform: "slack").map(\.role) == ["person:U1"])
        // The first message waits for the notifier, in its job's order.
        #expect(try await db.due(platform: "slack", now: Date(), limit: 10).map(\.notice.plainText) == ["queued"])
        // Ids follow the sequence; a retried request takes none.
        let other = try await Self.accept(db, "b", key: "k2")
        #expect(try await Self.accept(db, "b", key: "k2").id == other.id && other.id == 2)
        #expect(try await Self.accept(db, "c", key: "k3").id == 3)
    }

    @Test func registryChangesAreAuditedAndUnknownModelsRefused() async throws {
        let db = try AppDatabase.inMemory()
        let release = CoxswainConfiguration.Release(
            name: "r", model: "m", environment: "production", namespace: "production",
            endpoint: try #require(URL(string: "http://m:8000")), hasReadyEndpoint: false, completionSLO: nil)
        try await db.seed([release], now: Date())
        try await db.setStatus(model: "m", environment: "production", status: .disabled, actor: "cli:ops", reason: "test", now: Date())
        try await db.seed([release], now: Date())  // a restart keeps a disabled model disabled
        #expect(try await db.entry(model: "m", environment: "production")?.status == .disabled)
        #expect(try await db.tail(limit: 5).map(\.detail) == ["m in production: ready -> disabled (test)"])
        await #expect(throws: UnknownRegistryEntry.self) {
            try await db.setStatus(model: "nope", environment: "production", status: .ready, actor: "x", reason: "", now: Date())
        }
    }

    @Test("a file database is in WAL mode, writes durably (synchronous=FULL), and a reader opens it read-only")
    func fileDatabase() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
        let db = try AppDatabase.open(path: path)
        #expect(await db.isReachable())
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        try await Self.accept(db, "a", key: "1")
        // 2 = FULL on the connection that writes: an acknowledged request survives a power loss.
        #expect(try await db.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)

        let reader = try AppDatabase.openReadOnly(path: path)
        #expect(try await reader.recentJobs(release: nil, limit: 5).count == 1)
        await #expect(throws: StoreFailure.self) { try await Self.accept(reader, "b", key: "2") }

        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("nothing-\(UUID().uuidString).sqlite").path
        #expect(throws: StoreFailure.self) { _ = try AppDatabase.openReadOnly(path: missing) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("a database locked by another writer is a transient failure that names the file")
    func lockedDatabase() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
        let db = try AppDatabase.open(path: path)
        var holder = Configuration()
        holder.allowsUnsafeTransactions = true  // it holds the lock across accesses, as another process would
        let other = try DatabaseQueue(path: path, configuration: holder)
        try await other.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE") }
        do {
            try await Self.accept(db, "a", key: "1")
            Issue.record("wrote through another writer's exclusive lock")
        } catch let failure as StoreFailure {
            #expect(failure.kind == .busy && failure.isTransient)
            #expect(failure.description.contains(path))
            #expect(db.lastWriteFailure?.kind == .busy)
        }
        try await other.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        try await Self.accept(db, "a", key: "1")
        #expect(db.lastWriteFailure == nil)
    }
}
