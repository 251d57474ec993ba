import CoxswainCore
import Foundation
import Testing

/// The rest of the ports, on both stores: the lease, console tokens, watches, what planning
/// reads about earlier jobs, the audit trail's pages, waiting and break-glass jobs, and a
/// message given up.
@Suite struct PortContractTests {
    static let minute: TimeInterval = 60

    @Test(
        "the lease: one holder at a time, another once it expired, was released or its holder is known to be gone; running jobs listed",
        arguments: StoreKind.tested)
    func lease(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        let first = Lease(holder: "a", host: "h1", pid: 1, expiresAt: now.addingTimeInterval(30))
        #expect(try await db.acquire(first, now: now).holder == "a")
        let second = Lease(holder: "b", host: "h2", pid: 2, expiresAt: now.addingTimeInterval(60))
        #expect(try await db.acquire(second, now: now).holder == "a")  // still valid: refused, the holder named
        #expect(try await db.acquire(second, now: now.addingTimeInterval(31)).holder == "b")  // expired: taken
        try await db.release(holder: "a")  // not the holder: nothing happens
        #expect(try await db.currentLease()?.holder == "b")
        try await db.release(holder: "b")
        #expect(try await db.currentLease() == nil)
        // A holder known to be gone is replaced at once; its process space is kept with the lease.
        let third = Lease(holder: "c", host: "h3", pid: 3, processSpace: "boot pid:[1]", expiresAt: now.addingTimeInterval(30))
        #expect(try await db.acquire(third, now: now).holder == "c")
        let fourth = Lease(holder: "d", host: "h3", pid: 4, processSpace: "boot pid:[1]", expiresAt: now.addingTimeInterval(30))
        #expect(try await db.acquire(fourth, now: now, replacing: "someone else").holder == "c")
        #expect(try await db.acquire(fourth, now: now, replacing: "c").holder == "d")
        #expect(try await db.currentLease().map { [$0.holder, $0.processSpace] } == ["d", "boot pid:[1]"])
        try await db.release(holder: "d")

        let job = try await AppDatabaseTests.accept(db, "r", key: "k")
        var running = job
        running.state = .running
        running.runnerID = "a"
        try await db.commit(JobChange(job: running), now: now)
        #expect(try await db.runningJobs().map(\.id) == [job.id])
    }

    @Test("console tokens: usable until they expire or are revoked, one or all of a user's; issuing and revoking audited", arguments: StoreKind.tested)
    func tokens(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        let one = try await db.saveToken(user: "U1", digest: "d1", expiresAt: now.addingTimeInterval(3600), issuedBy: "cli:ops", now: now)
        _ = try await db.saveToken(user: "U1", digest: "d2", expiresAt: now.addingTimeInterval(7200), issuedBy: "cli:ops", now: now)
        _ = try await db.saveToken(user: "U2", digest: "d3", expiresAt: now.addingTimeInterval(3600), issuedBy: "cli:ops", now: now)
        #expect(Set(try await db.tokenDigests(user: "U1", now: now)) == ["d1", "d2"])
        #expect(try await db.tokenDigests(user: "U1", now: now.addingTimeInterval(5000)) == ["d2"])  // d1 expired
        #expect(try await db.revokeTokens(.id(one), by: "cli:ops", now: now).map(\.id) == [one])
        #expect(try await db.revokeTokens(.id(one), by: "cli:ops", now: now).isEmpty)  // already revoked
        #expect(try await db.tokenDigests(user: "U1", now: now) == ["d2"])
        #expect(try await db.revokeTokens(.user("U1"), by: "cli:ops", now: now).count == 1)
        #expect(try await db.tokenDigests(user: "U1", now: now).isEmpty)
        let listed = try await db.consoleTokens(user: nil)
        #expect(listed.map(\.user) == ["U2", "U1", "U1"] && listed.filter { $0.revokedAt != nil }.count == 2)
        #expect(listed.first?.isUsable(at: now) == true)
        let events = try await db.tail(limit: 10).map(\.event)
        #expect(events.filter { $0 == "console.token_issued" }.count == 3 && events.filter { $0 == "console.token_revoked" }.count == 2)
    }

    @Test(
        "a watch starts once per job and once per release when asked for; active ones soonest first; ended jobs without one are found",
        arguments: StoreKind.tested)
    func watches(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        var job = try await AppDatabaseTests.accept(db, "r", key: "k")
        job.state = .succeeded
        job.finishedAt = now
        job = try await db.commit(JobChange(job: job), now: now)
        #expect(try await db.unwatchedSucceededJobs(since: now.addingTimeInterval(-Self.minute)).map(\.id) == [job.id])
        let watch = ModelWatch(
            jobID: job.id, kind: .rollback, release: "r", environment: "production", namespace: "production", model: "m", revisionBefore: 4,
            startedAt: now.addingTimeInterval(10), endsAt: now.addingTimeInterval(600), baselineP95: 1.5)
        let audit = AuditDraft(actor: "coxswain", event: "watch.started", detail: "")
        let started = try #require(try await db.startWatch(watch, audit: audit, notices: [], now: now))
        #expect(started.id > 0)
        #expect(try await db.startWatch(watch, audit: audit, notices: [], now: now) == nil)  // a restart: not twice
        let asked = ModelWatch(
            jobID: nil, kind: nil, release: "other", environment: "production", namespace: "production", model: "m2", revisionBefore: nil,
            startedAt: now, endsAt: now.addingTimeInterval(600), baselineP95: nil)
        #expect(try await db.startWatch(asked, audit: audit, notices: [], now: now) != nil)
        #expect(try await db.startWatch(asked, audit: audit, notices: [], now: now) == nil)
        #expect(try await db.activeWatches().map(\.release) == ["other", "r"])
        var ended = started
        ended.state = .healthy
        ended.verdict = "healthy for 10 minutes"
        try await db.saveWatch(ended, audit: [AuditDraft(actor: "coxswain", event: "watch.healthy", detail: "")], notices: [], now: now)
        #expect(try await db.watch(jobID: job.id)?.verdict == "healthy for 10 minutes")
        #expect(try await db.activeWatches().map(\.release) == ["other"])
        #expect(try await db.unwatchedSucceededJobs(since: now.addingTimeInterval(-Self.minute)).isEmpty)
        #expect(try await db.entries(jobID: job.id).map(\.event).filter { $0.hasPrefix("watch.") } == ["watch.started", "watch.healthy"])
    }

    @Test(
        "planning reads what earlier jobs did: the revision each helm rollback created and the one it left; a validated upgrade by its version",
        arguments: StoreKind.tested)
    func revisions(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        var rollback = try await AppDatabaseTests.accept(db, "r", key: "k1")
        rollback.plan = RollbackPlan(
            from: HelmRevision(revision: 5, status: "deployed", chart: "vllm-0.5.0", appVersion: "0.5.0"),
            to: HelmRevision(revision: 4, status: "superseded", chart: "vllm-0.4.0", appVersion: "0.4.0"))
        rollback.state = .succeeded
        rollback.steps = [JobStep(position: 0, action: "helm.rollback", title: "Roll back", status: .succeeded, startedAt: now, finishedAt: now)]
        rollback = try await db.commit(JobChange(job: rollback), now: now)
        #expect(try await db.jobsByCreatedRevision(release: "r", since: 1).mapValues(\.id) == [6: rollback.id])
        #expect(try await db.jobsByCreatedRevision(release: "r", since: 7).isEmpty)
        #expect(try await db.revisionsRolledBackFrom(release: "r", since: 1) == [5])
        // A job planned again (a runner that took it over read the release anew) stands behind two revisions.
        var again = rollback
        again.plan = RollbackPlan(from: HelmRevision(revision: 6, status: "deployed", chart: "vllm-0.4.0", appVersion: "0.4.0"), to: rollback.plan!.to)
        rollback = try await db.commit(JobChange(job: again), now: now)
        #expect(try await db.jobsByCreatedRevision(release: "r", since: 1).mapValues(\.id) == [6: rollback.id, 7: rollback.id])
        #expect(try await db.revisionsRolledBackFrom(release: "r", since: 1) == [5, 6])
        #expect(try await db.revisionsRolledBackFrom(release: "other", since: 1).isEmpty)

        var upgrade = try await db.accept(
            JobRequest(
                kind: .upgrade, command: "/upgrade", release: "r", environment: "production", namespace: "production", model: "m",
                requestedBy: "U1", channel: "C1", platform: "slack", version: "0.6.0"),
            approvalsRequired: 0, requestKey: "k2", references: [], now: now, join: nil, created: { job, _ in JobChange(job: job) },
            joined: { JobChange(job: $0) }
        ).job
        upgrade.plan = RollbackPlan(
            from: HelmRevision(revision: 6, status: "deployed", chart: "vllm-0.4.0", appVersion: "0.4.0"),
            to: HelmRevision(revision: 6, status: "deployed", chart: "vllm-0.4.0", appVersion: "0.4.0"), targetVersion: "0.6.0")
        upgrade.state = .succeeded
        upgrade = try await db.commit(JobChange(job: upgrade), now: now)
        #expect(try await db.validatedUpgrade(release: "r", version: "0.6.0")?.id == upgrade.id)
        #expect(try await db.validatedUpgrade(release: "r", version: "0.7.0") == nil)
        let counts = try await db.jobCounts()
        #expect(counts.contains(JobCount(command: "/rollback", environment: "production", state: "succeeded", count: 1)))
        #expect(counts.contains(JobCount(command: "/upgrade", environment: "production", state: "succeeded", count: 1)))
    }

    @Test("a revision passed a watch when the job that created it was watched to a healthy end; a breach or an open watch is no proof",
        arguments: StoreKind.tested)
    func revisionsThatPassedAWatch(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        /// A succeeded rollback from `from` (so it created `from + 1`), watched until `ending`.
        func watchedRollback(_ key: String, from: Int, ending: ModelWatch.State) async throws -> Int64 {
            var job = try await AppDatabaseTests.accept(db, "r", key: key)
            job.plan = RollbackPlan(
                from: HelmRevision(revision: from, status: "deployed", chart: "vllm-0.5.0", appVersion: "0.5.0"),
                to: HelmRevision(revision: 2, status: "superseded", chart: "vllm-0.4.0", appVersion: "0.4.0"))
            job.state = .succeeded
            job.finishedAt = now
            job.steps = [JobStep(position: 0, action: "helm.rollback", title: "Roll back", status: .succeeded, startedAt: now, finishedAt: now)]
            job = try await db.commit(JobChange(job: job), now: now)
            let watch = ModelWatch(
                jobID: job.id, kind: .rollback, release: "r", environment: "production", namespace: "production", model: "m", revisionBefore: nil,
                startedAt: now, endsAt: now.addingTimeInterval(600), baselineP95: nil)
            let audit = AuditDraft(actor: "coxswain", event: "watch.started", detail: "")
            var started = try #require(try await db.startWatch(watch, audit: audit, notices: [], now: now))
            if ending != .watching {
                started.state = ending
                try await db.saveWatch(started, audit: [], notices: [], now: now)
            }
            return job.id
        }
        let open = try await watchedRollback("k1", from: 5, ending: .watching)
        #expect(try await db.revisionsThatPassedAWatch(release: "r", since: 1).isEmpty, "job #\(open)'s watch has not ended")
        _ = try await watchedRollback("k2", from: 6, ending: .breached)
        _ = try await watchedRollback("k3", from: 7, ending: .inconclusive)
        let healthy = try await watchedRollback("k4", from: 8, ending: .healthy)
        #expect(try await db.revisionsThatPassedAWatch(release: "r", since: 1) == [9: healthy])
        #expect(try await db.revisionsThatPassedAWatch(release: "r", since: 10).isEmpty)
        #expect(try await db.revisionsThatPassedAWatch(release: "other", since: 1).isEmpty)
    }

    @Test("waiting jobs and the oldest wait of an environment; break-glass jobs nobody acknowledged", arguments: StoreKind.tested)
    func waitingAndEmergencies(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        var waiting = try await AppDatabaseTests.accept(db, "a", key: "k1")
        waiting.state = .awaitingApproval
        waiting.waitingSince = now.addingTimeInterval(-10 * Self.minute)
        waiting = try await db.commit(JobChange(job: waiting), now: now)
        #expect(try await db.waitingJobs(environment: "production", since: now.addingTimeInterval(-5 * Self.minute)).map(\.id) == [waiting.id])
        #expect(try await db.waitingJobs(environment: "production", since: now.addingTimeInterval(-20 * Self.minute)).isEmpty)
        #expect(try await db.oldestWaits(environments: ["production", "staging"]) == ["production": try #require(waiting.waitingSince)])
        #expect(try await db.oldestWaits(environments: []) == [:])

        var emergency = try await db.accept(
            JobRequest(
                kind: .rollback, command: "/rollback", release: "b", environment: "production", namespace: "production", model: "m2",
                requestedBy: "U1", channel: "C1", platform: "slack", reason: "outage", emergency: true),
            approvalsRequired: 0, requestKey: "k2", references: [], now: now, join: nil, created: { job, _ in JobChange(job: job) },
            joined: { JobChange(job: $0) }
        ).job
        #expect(try await db.unacknowledgedEmergencies().map(\.id) == [emergency.id])
        emergency.acknowledgedBy = "U2"
        emergency.acknowledgedAt = now
        try await db.commit(JobChange(job: emergency), now: now)
        #expect(try await db.unacknowledgedEmergencies().isEmpty)
        #expect(try await db.openJobs().map(\.id) == [waiting.id, emergency.id])
    }

    @Test(
        "the audit trail in pages, oldest first; a message given up passes the turn on, with its audit entry and the notices saying so",
        arguments: StoreKind.tested)
    func auditAndGivingUp(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        let now = Date()
        let job = try await AppDatabaseTests.accept(
            db, "r", key: "k", notices: [.message("first", jobID: nil, place: .thread), .message("second", jobID: nil, place: .thread)])
        for n in 1...5 { try await db.append(AuditDraft(actor: "cli:ops", event: "test.\(n)", detail: ""), jobID: nil, notices: [], now: now) }
        let all = try await db.entries(after: 0, limit: 100)
        #expect(all.map(\.event) == ["job.requested", "test.1", "test.2", "test.3", "test.4", "test.5"])
        #expect(try await db.entries(after: all[2].seq, limit: 2).map(\.event) == ["test.3", "test.4"])
        #expect(try await db.tail(limit: 2).map(\.event) == ["test.4", "test.5"])

        let first = try #require(try await db.due(platform: "slack", now: now, limit: 10).first)
        #expect(first.notice.plainText == "first" && first.request?.release == "r")
        try await db.failed(
            first.id, error: "channel_not_found", audit: AuditDraft(actor: "coxswain", event: "message.failed", detail: "channel_not_found"),
            followUps: [.message("could not post", jobID: job.id, place: .auditChannel)], now: now)
        #expect(try await db.due(platform: "slack", now: now, limit: 10).map(\.notice.plainText) == ["second"])
        #expect(try await db.entries(jobID: job.id).map(\.event).last == "message.failed")
        #expect(try await db.pending(platform: "slack").count == 2)  // "second" (being sent) and the follow-up
        #expect(try await db.notices(jobID: job.id).map(\.state) == ["failed", "pending", "pending"])
        #expect(try await db.latest(jobID: job.id, place: .auditChannel)?.plainText == "could not post")
    }
}
