import CoxswainCore
import Foundation
import Testing

/// What every store promises through its ports, run against SQLite and PostgreSQL alike:
/// one running job per release and model, stale versions refused, retried requests
/// harmless, the outbox's order, the registry's audit trail.
@Suite struct StoreContractTests {
    @Test("one job per release (and per model in an environment) runs at a time; others are not held up", arguments: StoreKind.tested)
    func claimsOnePerReleaseAndModel(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        try await AppDatabaseTests.accept(db, "a", key: "1")
        try await AppDatabaseTests.accept(db, "a", key: "2")
        try await AppDatabaseTests.accept(db, "b", key: "3", model: "other")
        try await AppDatabaseTests.accept(db, "c", key: "4")  // same model and environment as a
        let first = try #require(try await AppDatabaseTests.claim(db))
        let second = try #require(try await AppDatabaseTests.claim(db))
        #expect(first.request.release == "a" && second.request.release == "b")
        #expect(try await AppDatabaseTests.claim(db) == nil)
        var done = first
        done.state = .succeeded
        try await db.commit(JobChange(job: done), now: Date())
        #expect(try await AppDatabaseTests.claim(db)?.id == 2)
    }

    @Test("the database itself refuses a second running job for a release", arguments: StoreKind.tested)
    func uniqueRunningIndex(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let one = try await AppDatabaseTests.accept(db, "a", key: "1")
        let two = try await AppDatabaseTests.accept(db, "a", key: "2")
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

    @Test("a change made from an outdated read is refused, and nothing of it is written", arguments: StoreKind.tested)
    func optimisticVersionCheck(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let job = try await AppDatabaseTests.accept(db, "a", key: "1")
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

    @Test("a repeated request key returns the first job", arguments: StoreKind.tested)
    func aRepeatedRequestKeyReturnsTheFirstJob(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let first = try await AppDatabaseTests.accept(db, "a", key: "slack:t1")
        let again = try await db.accept(
            AppDatabaseTests.request("a"), approvalsRequired: 0, requestKey: "slack:t1", references: [], now: Date(),
            join: nil, created: { job, _ in JobChange(job: job) }, joined: { JobChange(job: $0) })
        guard case .duplicate(let job) = again else { Issue.record("not a duplicate: \(again)"); return }
        #expect(job.id == first.id)
        #expect(try await db.recentJobs(release: nil, limit: 10).count == 1)
        #expect(try await db.tail(limit: 10).count == 1)
    }

    @Test("jobs read together come back whole, each with its own steps, approvals and followers, in the order asked", arguments: StoreKind.tested)
    func jobsReadTogether(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var written: [Job] = []
        for (n, release) in ["a", "b", "c"].enumerated() {
            var job = try await AppDatabaseTests.accept(db, release, key: release)
            // Each job gets a different number of each, so one read into another shows.
            job.steps = (0..<n + 1).map { JobStep(position: $0, action: "step-\(release)-\($0)", title: "Step \($0)", status: .succeeded, startedAt: now) }
            job.approvals = (0..<n).map { Approval(user: "U\(release)\($0)", decision: .approve, plan: "plan-\(release)", reason: nil, at: now) }
            job.followers = (0..<2 - n).map { "F\(release)\($0)" }
            written.append(try await db.commit(JobChange(job: job), now: now))
        }
        let recent = try await db.recentJobs(release: nil, limit: 10)
        #expect(recent.map(\.id) == written.reversed().map(\.id))
        for job in recent {
            let alone = try #require(try await db.job(id: job.id))
            #expect(job == alone)
            let n = ["a", "b", "c"].firstIndex(of: job.request.release)!
            #expect(job.steps.map(\.action) == (0..<n + 1).map { "step-\(job.request.release)-\($0)" })
            #expect(job.approvals.map(\.user) == (0..<n).map { "U\(job.request.release)\($0)" })
            #expect(job.followers.sorted() == (0..<2 - n).map { "F\(job.request.release)\($0)" })
        }
        #expect(try await db.recentJobs(release: "b", limit: 10).map(\.id) == [written[1].id])
    }

    @Test("a live message keeps its turn: newer content replaces an undelivered one, thread replies wait behind it", arguments: StoreKind.tested)
    func outboxOrderAndReplacing(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let live = Notice.message("posted", jobID: nil, place: .live)
        let job = try await AppDatabaseTests.accept(db, "a", key: "k", notices: [live])
        try await db.commit(
            JobChange(job: job, notices: [.message("detail", jobID: job.id, place: .thread), .message("u2", jobID: job.id, place: .live)]),
            now: Date())
        var batch = try await db.due(platform: "slack", now: Date(), limit: 10)
        #expect(batch.map(\.notice.plainText) == ["u2"])  // "posted" was replaced by "u2", in its turn
        #expect(try await db.due(platform: "slack", now: Date(), limit: 10).isEmpty)  // in flight: the thread reply waits
        #expect(try await db.inFlight(platform: "slack").map(\.id) == batch.map(\.id))
        try await db.retry([batch[0].id], error: "429", notBefore: Date().addingTimeInterval(60), countsAsAttempt: false)
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

    @Test("several messages are scheduled again in one call, each kept with its error and attempts", arguments: StoreKind.tested)
    func retryTogether(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        for n in 1...3 { try await db.enqueue([.message("m\(n)", jobID: nil, place: .channel("C1"))], platform: "slack", route: nil, now: now) }
        let batch = try await db.due(platform: "slack", now: now, limit: 10)
        try await db.retry(batch.prefix(2).map(\.id), error: "chat.postMessage rate limited", notBefore: now.addingTimeInterval(30), countsAsAttempt: false)
        try await db.retry([batch[2].id], error: "HTTP 500", notBefore: now.addingTimeInterval(1), countsAsAttempt: true)
        #expect(try await db.due(platform: "slack", now: now.addingTimeInterval(2), limit: 10).map(\.notice.plainText) == ["m3"])
        let later = try await db.due(platform: "slack", now: now.addingTimeInterval(31), limit: 10)
        #expect(later.map(\.notice.plainText).sorted() == ["m1", "m2"] && later.allSatisfy { $0.attempts == 0 })
        #expect(try await db.notices(jobID: nil).map(\.attempts).sorted() == [0, 0, 1])
    }

    @Test(
        "while a platform takes no new post, a new job's messages for it are written due when that ends, not taken before; others at once",
        arguments: StoreKind.tested)
    func newJobsWaitOutAHold(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let live = Notice.message("queued", jobID: nil, place: .live)
        let now = Date()
        // A hold elsewhere, or one that is over, changes nothing.
        db.holdPosts(on: "mattermost", until: now.addingTimeInterval(60))
        _ = try await AppDatabaseTests.accept(db, "a", key: "1", notices: [live])
        db.holdPosts(on: "slack", until: now.addingTimeInterval(-1))
        _ = try await AppDatabaseTests.accept(db, "b", key: "2", notices: [live])
        #expect(try await db.due(platform: "slack", now: Date(), limit: 10).count == 2)

        db.holdPosts(on: "slack", until: now.addingTimeInterval(60))
        _ = try await AppDatabaseTests.accept(db, "c", key: "3", notices: [live])
        // The path that may join an open rollback writes its new job the same way.
        let request = AppDatabaseTests.request("d", model: "other")
        _ = try await db.accept(
            request, approvalsRequired: 0, requestKey: "4", references: [], now: Date(), join: JoinFilter(request),
            created: { job, _ in JobChange(job: job, notices: [Notice(jobID: job.id, place: .live, body: live.body)]) },
            joined: { JobChange(job: $0) })
        #expect(try await db.due(platform: "slack", now: now.addingTimeInterval(59), limit: 10).isEmpty)
        let later = try await db.due(platform: "slack", now: now.addingTimeInterval(61), limit: 10)
        #expect(later.count == 2 && later.allSatisfy { $0.attempts == 0 })
        #expect(try await store.strings("SELECT COALESCE(lastError, '') FROM notice") == ["", "", "", ""])
    }

    @Test("a new job is written once, as the lifecycle made it: what is returned is what a read gives; ids follow the sequence", arguments: StoreKind.tested)
    func newJobWrittenOnce(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let reply = MessageReference(jobID: 0, platform: "slack", role: "person:U1", url: "https://hooks.slack.com/commands/1")
        let result = try await db.accept(
            AppDatabaseTests.request("a"), approvalsRequired: 0, requestKey: "k", references: [reply], now: Date(), join: nil,
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
        let other = try await AppDatabaseTests.accept(db, "b", key: "k2")
        #expect(try await AppDatabaseTests.accept(db, "b", key: "k2").id == other.id && other.id == 2)
        #expect(try await AppDatabaseTests.accept(db, "c", key: "k3").id == 3)
    }

    @Test("registry changes are audited; a restart keeps a disabled model disabled; unknown models are refused", arguments: StoreKind.tested)
    func registryChangesAreAuditedAndUnknownModelsRefused(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
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
}
