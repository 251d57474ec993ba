import CoxswainCore
import Foundation
import PostgresNIO

/// The pieces of a job's transaction: reading a job whole, and writing a transition (the
/// job row if nobody changed it since it was read, steps, approvals, followers, registry,
/// revisions, audit entries and notices).
extension PostgresStore {
    static func loadJob(id: Int64, _ db: PostgresConnection) async throws -> Job? {
        try await loadJobs(ids: [id], db).first
    }

    /// The jobs with `ids` that exist, in that order, each whole: four statements however many
    /// jobs. Read one at a time, /history's 30 jobs were 120 round trips, which under the test
    /// suite's load outlasted a transaction's 15 s (Benchmarks/README.md, "The webhook on PostgreSQL", step 8).
    static func loadJobs(ids: [Int64], _ db: PostgresConnection) async throws -> [Job] {
        guard !ids.isEmpty else { return [] }
        let rows = try await db.rows("SELECT * FROM job WHERE id = ANY(\(ids))")
        guard !rows.isEmpty else { return [] }
        var steps: [Int64: [JobStep]] = [:], approvals: [Int64: [Approval]] = [:], followers: [Int64: [String]] = [:]
        for row in try await db.rows("SELECT * FROM jobStep WHERE jobID = ANY(\(ids)) ORDER BY jobID, position") {
            steps[try row("jobID"), default: []].append(
                JobStep(
                    position: try row("position"), action: try row("action"), title: try row("title"), status: try row.value("status"),
                    note: try row("note"), detail: try row("detail"), startedAt: try row.date("startedAt"), finishedAt: try row.date(ifAny: "finishedAt")))
        }
        for row in try await db.rows("SELECT * FROM approval WHERE jobID = ANY(\(ids)) ORDER BY jobID, id") {
            approvals[try row("jobID"), default: []].append(
                Approval(
                    user: try row("username"), decision: try row.value("decision"), plan: try row("planJSON"), reason: try row("reason"),
                    at: try row.date("at")))
        }
        for row in try await db.rows("SELECT jobID, username FROM jobFollower WHERE jobID = ANY(\(ids)) ORDER BY jobID, at, username") {
            followers[try row("jobID"), default: []].append(try row("username"))
        }
        var jobs: [Int64: Job] = [:]
        for row in rows {
            let id: Int64 = try row("id")
            jobs[id] = Job(
                id: id, version: try row("version"), request: try request(row), state: try row.value("state"),
                plan: try row("planJSON", String?.self).flatMap(RollbackPlan.init(json:)), basisRevision: try row("basisRevision"),
                approvalsRequired: try row("approvalsRequired"), approvals: approvals[id] ?? [], approvalRound: try row("approvalRound"),
                followers: followers[id] ?? [], steps: steps[id] ?? [], lastCompletedStep: try row("lastCompletedStep"), outcome: try row("outcome"),
                createdAt: try row.date("createdAt"), startedAt: try row.date(ifAny: "startedAt"), finishedAt: try row.date(ifAny: "finishedAt"),
                waitingSince: try row.date(ifAny: "waitingSince"), cancelRequestedBy: try row("cancelRequestedBy"), acknowledgedBy: try row("acknowledgedBy"),
                acknowledgedAt: try row.date(ifAny: "acknowledgedAt"), lastReminderAt: try row.date(ifAny: "lastReminderAt"), runnerID: try row("runnerID"),
                claim: try claim(row), handover: try row("handover"))
        }
        return ids.compactMap { jobs[$0] }
    }

    /// The request a job row holds.
    static func request(_ row: Fields) throws -> JobRequest {
        JobRequest(
            kind: try row.value("kind"), command: try row("command"), release: try row("release"), environment: try row("environment"),
            namespace: try row("namespace"), model: try row("model"), requestedBy: try row("requestedBy"), channel: try row("channelID"),
            platform: try row("platform"), revision: try row("requestedRevision"), version: try row("requestedVersion"), reason: try row("reason"),
            emergency: try row("emergency"), overridePromotion: try row("overridePromotion"))
    }

    private static func claim(_ row: Fields) throws -> RunnerClaim? {
        guard let generation: Int = try row("claimGeneration"), let id: String = try row("runnerID"), let host: String = try row("claimHost"),
            let space: String = try row("claimProcessSpace"), let pid: Int = try row("claimPID"),
            let renewedAt = try row.date(ifAny: "claimRenewedAt"), let expiresAt = try row.date(ifAny: "claimExpiresAt")
        else { return nil }
        return RunnerClaim(
            generation: generation, runner: RunnerIdentity(id: id, host: host, processSpace: space, pid: pid), renewedAt: renewedAt, expiresAt: expiresAt)
    }

    /// The job row's columns (all but `id` and `version`) and their values, in one order.
    static func columns(_ job: Job) -> (names: [String], bindings: PostgresBindings) {
        var row = RowBindings()
        columns(job, into: &row)
        return (row.names, row.bindings)
    }

    /// The job row's columns, by name and value, into `sink` in one order.
    static func columns<Sink: ColumnSink>(_ job: Job, into sink: inout Sink) {
        func add<T: ColumnValue>(_ name: String, _ value: T?) { sink.add(name, value) }
        let r = job.request
        add("kind", r.kind.rawValue); add("command", r.command); add("release", r.release); add("environment", r.environment)
        add("namespace", r.namespace); add("model", r.model); add("requestedBy", r.requestedBy); add("channelID", r.channel)
        add("platform", r.platform); add("requestedRevision", r.revision); add("requestedVersion", r.version); add("reason", r.reason)
        add("emergency", r.emergency); add("overridePromotion", r.overridePromotion); add("state", job.state.rawValue)
        add("planJSON", job.plan?.json); add("basisRevision", job.basisRevision); add("approvalsRequired", job.approvalsRequired)
        add("approvalRound", job.approvalRound); add("lastCompletedStep", job.lastCompletedStep); add("outcome", job.outcome)
        add("createdAt", Stamp(job.createdAt)); add("startedAt", job.startedAt.map(Stamp.init)); add("finishedAt", job.finishedAt.map(Stamp.init))
        add("waitingSince", job.waitingSince.map(Stamp.init)); add("cancelRequestedBy", job.cancelRequestedBy)
        add("acknowledgedBy", job.acknowledgedBy); add("acknowledgedAt", job.acknowledgedAt.map(Stamp.init))
        add("lastReminderAt", job.lastReminderAt.map(Stamp.init)); add("runnerID", job.runnerID)
        let claim = job.claim
        add("claimGeneration", claim?.generation); add("claimHost", claim?.runner.host); add("claimProcessSpace", claim?.runner.processSpace)
        add("claimPID", claim?.runner.pid); add("claimRenewedAt", claim.map { Stamp($0.renewedAt) }); add("claimExpiresAt", claim.map { Stamp($0.expiresAt) })
        add("handover", job.handover)
    }

    private static func placeholders(_ count: Int, from first: Int = 1) -> String {
        (first..<first + count).map { "$\($0)" }.joined(separator: ", ")
    }

    /// Writes a transition if nobody changed the job since `change.job.version` was read.
    static func apply(_ change: JobChange, now: Date, _ db: PostgresConnection, platforms: [String]) async throws -> Job {
        let job = change.job
        var (names, bindings) = columns(job)
        bindings.append(job.id)
        bindings.append(job.version)
        let sql = """
            UPDATE job SET (\(names.joined(separator: ", "))) = ROW(\(placeholders(names.count))), version = version + 1
            WHERE id = $\(names.count + 1) AND version = $\(names.count + 2) RETURNING id
            """
        guard try await db.run(PostgresQuery(unsafeSQL: sql, binds: bindings)) == 1 else {
            guard try await db.one("SELECT id FROM job WHERE id = \(job.id)", Int64.self) != nil else {
                throw StoreFailure(kind: .other, location: "job", operation: "record job #\(job.id)", detail: "there is no job #\(job.id)")
            }
            throw StoreConflict(jobID: job.id)
        }
        try await db.run("DELETE FROM jobStep WHERE jobID = \(job.id) AND NOT (position = ANY(\(job.steps.map(\.position))))")
        try await writeParts(of: change, now: now, db, platforms: platforms)
        guard let saved = try await loadJob(id: job.id, db) else { throw StoreConflict(jobID: job.id) }
        return saved
    }

    /// What a read would give: dates to the millisecond.
    static func asRead(_ job: Job) -> Job {
        var job = job
        job.createdAt = Stamp.rounded(job.createdAt); job.startedAt = job.startedAt.map(Stamp.rounded)
        job.finishedAt = job.finishedAt.map(Stamp.rounded); job.waitingSince = job.waitingSince.map(Stamp.rounded)
        job.acknowledgedAt = job.acknowledgedAt.map(Stamp.rounded); job.lastReminderAt = job.lastReminderAt.map(Stamp.rounded)
        return job
    }

    private static func writeParts(of change: JobChange, now: Date, _ db: PostgresConnection, platforms: [String]) async throws {
        let job = change.job
        for step in job.steps {
            try await db.run(
                """
                INSERT INTO jobStep (jobID, position, action, title, status, note, detail, startedAt, finishedAt)
                VALUES (\(job.id), \(step.position), \(step.action), \(step.title), \(step.status.rawValue), \(step.note), \(step.detail),
                        \(Stamp(step.startedAt)), \(step.finishedAt.map(Stamp.init)))
                ON CONFLICT (jobID, position) DO UPDATE SET action = excluded.action, title = excluded.title, status = excluded.status,
                note = excluded.note, detail = excluded.detail, startedAt = excluded.startedAt, finishedAt = excluded.finishedAt
                """)
        }
        for approval in job.approvals {
            try await db.run(
                """
                INSERT INTO approval (jobID, username, decision, planJSON, reason, at)
                VALUES (\(job.id), \(approval.user), \(approval.decision.rawValue), \(approval.plan), \(approval.reason), \(Stamp(approval.at)))
                ON CONFLICT (jobID, username, planJSON) DO NOTHING
                """)
        }
        for follower in job.followers {
            try await db.run("INSERT INTO jobFollower (jobID, username, at) VALUES (\(job.id), \(follower), \(Stamp(now))) ON CONFLICT DO NOTHING")
        }
        if let registry = change.registry {
            try await setRegistry(registry, actor: "coxswain", jobID: job.id, now: now, db)
        }
        try await recordRevisions(job, db)
        try await insertAudit(change.audit, jobID: job.id, now: now, db)
        try await insertNotices(change.notices, route: nil, now: now, db, platforms: platforms)
    }

    /// Once a job's helm rollback or upgrade ran, the revision it created (and, for a
    /// successful rollback, the one it left) is recorded for planning and `/history`.
    private static func recordRevisions(_ job: Job, _ db: PostgresConnection) async throws {
        guard let plan = job.plan else { return }
        let ran = job.steps.filter { ["helm.rollback", "helm.upgrade"].contains($0.action) && [.succeeded, .failed].contains($0.status) }
        guard !ran.isEmpty else { return }
        try await db.run(
            """
            INSERT INTO createdRevision (release, revision, jobID) VALUES (\(job.request.release), \(plan.from.revision + 1), \(job.id))
            ON CONFLICT (release, revision) DO UPDATE SET jobID = excluded.jobID
            """)
        if job.request.kind == .rollback, ran.contains(where: { $0.action == "helm.rollback" && $0.status == .succeeded }) {
            try await db.run(
                "INSERT INTO rolledBackFrom (release, revision) VALUES (\(job.request.release), \(plan.from.revision)) ON CONFLICT DO NOTHING")
        }
    }

    static func insertAudit(_ drafts: [AuditDraft], jobID: Int64?, now: Date, _ db: PostgresConnection) async throws {
        for draft in drafts {
            try await db.run(
                "INSERT INTO auditEntry (at, jobID, actor, event, detail) VALUES (\(Stamp(now)), \(jobID), \(draft.actor), \(draft.event), \(draft.detail))")
        }
    }

    /// Changes a model's status with its audit entry, which names the status before.
    @discardableResult
    static func setRegistry(_ update: RegistryUpdate, actor: String, jobID: Int64?, now: Date, _ db: PostgresConnection) async throws -> RegistryEntry {
        guard
            let previous = try await db.one(
                "SELECT status FROM registryEntry WHERE model = \(update.model) AND environment = \(update.environment) FOR UPDATE", String.self)
        else {
            let known = try await db.rows("SELECT model, environment FROM registryEntry ORDER BY model, environment").map {
                "\(try $0("model", String.self)) (\(try $0("environment", String.self)))"
            }
            throw UnknownRegistryEntry(model: update.model, environment: update.environment, known: known)
        }
        let rows = try await db.rows(
            """
            UPDATE registryEntry SET status = \(update.status.rawValue), updatedAt = \(Stamp(now)), updatedBy = \(actor)
            WHERE model = \(update.model) AND environment = \(update.environment) RETURNING *
            """)
        let detail = "\(update.model) in \(update.environment): \(previous) -> \(update.status.rawValue) (\(update.reason))"
        try await insertAudit(
            [AuditDraft(actor: actor, event: "registry.\(update.status == .ready ? "enable" : "disable")", detail: detail)], jobID: jobID, now: now, db)
        guard let row = rows.first else { throw UnknownRegistryEntry(model: update.model, environment: update.environment, known: []) }
        return try registryEntry(row)
    }

    static func registryEntry(_ row: Fields) throws -> RegistryEntry {
        RegistryEntry(
            model: try row("model"), environment: try row("environment"), release: try row("release"), endpoint: try row("endpoint"),
            status: try row.value("status"), updatedAt: try row.date("updatedAt"), updatedBy: try row("updatedBy"))
    }
}
