import CoxswainAudit
import CoxswainCore
import Foundation
import GRDB

extension AppDatabase: JobStore {
    static let openStates = HotPathQueries.openStates

    public func accept(
        _ request: JobRequest, approvalsRequired: Int, requestKey: String, references: [MessageReference], now: Date, join: JoinFilter?,
        created: @escaping @Sendable (Job, Int) -> JobChange,
        joined: @escaping @Sendable (Job) -> JobChange
    ) async throws -> IntakeResult {
        let createdAt = now.asStored
        return try await groupedWrite("record the request \(request.command) \(request.release)") { db in
            if let seen = try Int64.fetchOne(db.cachedStatement(sql: "SELECT jobID FROM receivedRequest WHERE key = ?"), arguments: [requestKey]),
                let job = try Self.loadJob(id: seen, db)
            {
                return .duplicate(job)
            }
            let result: IntakeResult
            if let join, let open = try Self.joinable(join, db) {
                result = .joined(try Self.apply(joined(open), now: now, db, platforms: self.platforms))
            } else {
                // The job is written once, as the lifecycle made it, and not read back: what is
                // returned is what a read would give (dates to the millisecond, version 1).
                let id = try Int64.fetchOne(db.cachedStatement(sql: HotPathQueries.nextJobID)) ?? 1
                // Before the insert, every queued or running job of the release is ahead.
                let ahead = try Int.fetchOne(db.cachedStatement(sql: HotPathQueries.jobsAhead), arguments: [request.release, id]) ?? 0
                let change = created(Job(id: id, request: request, approvalsRequired: approvalsRequired, createdAt: createdAt), ahead)
                let stored = try Self.insertNew(change, now: createdAt, db, platforms: self.platforms, postsDue: self.noticePlatforms.postsDue(now: now))
                result = .created(stored, jobsAhead: ahead)
            }
            let jobID = result.job.id
            try db.cachedStatement(sql: "INSERT INTO receivedRequest (key, jobID, receivedAt) VALUES (?, ?, ?)")
                .execute(arguments: [requestKey, jobID, now])
            for var reference in references {
                reference.jobID = jobID
                try Self.save(reference, db)
            }
            return result
        }
    }

    /// The oldest open job the filter joins, found by index; the rule is checked again on it.
    static func joinable(_ filter: JoinFilter, _ db: Database) throws -> Job? {
        let id =
            try filter.revision.map {
                try Int64.fetchOne(db.cachedStatement(sql: HotPathQueries.joinableRollbackTo), arguments: [filter.release, $0, filter.emergency])
            } ?? Int64.fetchOne(db.cachedStatement(sql: HotPathQueries.joinableRollback), arguments: [filter.release, filter.emergency])
        return try id.flatMap { try loadJob(id: $0, db) }.flatMap { filter.matches($0) ? $0 : nil }
    }

    public func job(id: Int64) async throws -> Job? {
        try await read("read job #\(id)") { db in try Self.loadJob(id: id, db) }
    }

    @discardableResult
    public func commit(_ change: JobChange, now: Date) async throws -> Job {
        let platforms = self.platforms
        return try await write("record job #\(change.job.id)'s \(change.audit.first?.event ?? "change")") { db in
            try Self.apply(change, now: now, db, platforms: platforms)
        }
    }

    public func claimNext(now: Date, change: @escaping @Sendable (Job) -> JobChange) async throws -> Job? {
        // Most of the time nothing is runnable: look before taking the write lock.
        guard try await read("look for a runnable job", { db in try Self.runnableJob(db) }) != nil else { return nil }
        return try await write("claim a job") { db in
            guard let job = try Self.runnableJob(db) else { return nil }
            return try Self.apply(change(job), now: now, db, platforms: self.platforms)
        }
    }

    /// The oldest queued job whose release (and model in its environment) has no running
    /// job: the oldest queued job of each release is looked at, one index probe each.
    static func runnableJob(_ db: Database) throws -> Job? {
        let candidates = try Int64.fetchAll(db.cachedStatement(sql: HotPathQueries.oldestQueuedPerRelease)).sorted()
        for id in candidates {
            guard let job = try loadJob(id: id, db) else { continue }
            let blocked = try Bool.fetchOne(
                db.cachedStatement(sql: HotPathQueries.blocked), arguments: [job.request.release, job.request.model, job.request.environment])
            if blocked == false { return job }
        }
        return nil
    }

    public func waitingJobs(environment: String, since cutoff: Date) async throws -> [Job] {
        try await read("read jobs waiting in \(environment)") { db in
            try Int64.fetchAll(db.cachedStatement(sql: HotPathQueries.waitingSince), arguments: [environment, cutoff])
                .compactMap { try Self.loadJob(id: $0, db) }
        }
    }

    public func oldestWaits(environments: [String]) async throws -> [String: Date] {
        try await read("read the oldest waits") { db in
            let statement = try db.cachedStatement(sql: HotPathQueries.oldestWaiting)
            var oldest: [String: Date] = [:]
            for environment in environments { oldest[environment] = try Date.fetchOne(statement, arguments: [environment]) }
            return oldest
        }
    }

    public func queuedWithoutBasis() async throws -> [Job] {
        try await read("read queued jobs without their basis") { db in
            let busy = try String.fetchAll(db.cachedStatement(sql: HotPathQueries.runningReleases))
            return try busy.flatMap { release in
                try Int64.fetchAll(db.cachedStatement(sql: HotPathQueries.basisMissing), arguments: [release]).compactMap { try Self.loadJob(id: $0, db) }
            }
        }
    }

    public func jobCounts() async throws -> [JobCount] {
        try await read("count jobs by state") { db in
            try Row.fetchAll(db, sql: "SELECT command, environment, state, COUNT(*) AS n FROM job GROUP BY command, environment, state").map {
                JobCount(command: $0["command"], environment: $0["environment"], state: $0["state"], count: $0["n"])
            }
        }
    }

    public func openJobs() async throws -> [Job] {
        try await read("read open jobs") { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM job WHERE state IN \(Self.openStates) ORDER BY id").compactMap { try Self.loadJob(id: $0, db) }
        }
    }

    public func runningJobs() async throws -> [Job] {
        try await read("read running jobs") { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM job WHERE state = 'running' ORDER BY id").compactMap { try Self.loadJob(id: $0, db) }
        }
    }

    public func recentJobs(release: String?, limit: Int) async throws -> [Job] {
        try await read("read recent jobs") { db in
            let ids: [Int64]
            if let release {
                ids = try Int64.fetchAll(db.cachedStatement(sql: "SELECT id FROM job WHERE release = ? ORDER BY id DESC LIMIT ?"), arguments: [release, limit])
            } else {
                ids = try Int64.fetchAll(db.cachedStatement(sql: "SELECT id FROM job ORDER BY id DESC LIMIT ?"), arguments: [limit])
            }
            return try ids.compactMap { try Self.loadJob(id: $0, db) }
        }
    }

    public func unacknowledgedEmergencies() async throws -> [Job] {
        try await read("read unacknowledged break-glass jobs") { db in
            try Int64.fetchAll(db.cachedStatement(sql: HotPathQueries.unacknowledgedEmergencies))
                .compactMap { try Self.loadJob(id: $0, db) }
        }
    }

    public func validatedUpgrade(release: String, version: String) async throws -> Job? {
        try await read("look for a validated upgrade") { db in
            let id = try Int64.fetchOne(
                db,
                sql: """
                    SELECT id FROM job WHERE release = ? AND kind = 'upgrade' AND state = 'succeeded' AND requestedVersion IS NOT NULL
                    AND json_extract(planJSON, '$.targetVersion') = ? ORDER BY id DESC LIMIT 1
                    """, arguments: [release, version])
            return try id.flatMap { try Self.loadJob(id: $0, db) }
        }
    }

    public func jobsByCreatedRevision(release: String, since oldest: Int) async throws -> [Int: Job] {
        try await read("read the jobs behind revisions") { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT revision, jobID FROM createdRevision WHERE release = ? AND revision >= ?"), arguments: [release, oldest])
            var byRevision: [Int: Job] = [:]
            for row in rows {
                if let job = try Self.loadJob(id: row["jobID"], db) { byRevision[row["revision"]] = job }
            }
            return byRevision
        }
    }

    public func revisionsRolledBackFrom(release: String, since oldest: Int) async throws -> Set<Int> {
        try await read("read revisions rolled back from") { db in
            Set(
                try Int.fetchAll(
                    db.cachedStatement(sql: "SELECT revision FROM rolledBackFrom WHERE release = ? AND revision >= ?"), arguments: [release, oldest]))
        }
    }

    public func revisionsThatPassedAWatch(release: String, since oldest: Int) async throws -> [Int: Int64] {
        try await read("read revisions that passed a watch") { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT createdRevision.revision, createdRevision.jobID FROM createdRevision
                        JOIN watch ON watch.jobID = createdRevision.jobID
                        WHERE createdRevision.release = ? AND createdRevision.revision >= ? AND watch.state = 'healthy'
                        """), arguments: [release, oldest])
            return Dictionary(rows.map { (row: Row) -> (Int, Int64) in (row["revision"], row["jobID"]) }, uniquingKeysWith: { max($0, $1) })
        }
    }

    // MARK: pieces of a transaction

    static func loadJob(id: Int64, _ db: Database) throws -> Job? {
        guard let row = try JobRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM job WHERE id = ?"), arguments: [id]) else { return nil }
        let steps = try JobStepRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM jobStep WHERE jobID = ? ORDER BY position"), arguments: [id]).map(\.step)
        let approvals = try ApprovalRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM approval WHERE jobID = ? ORDER BY id"), arguments: [id]).map(\.approval)
        let followers = try String.fetchAll(db.cachedStatement(sql: "SELECT user FROM jobFollower WHERE jobID = ? ORDER BY at, user"), arguments: [id])
        return row.job(steps: steps, approvals: approvals, followers: followers)
    }

    /// Writes a transition: the job row (if nobody changed it since it was read), its steps,
    /// new approvals and followers, the registry change, audit entries and notices.
    static func apply(_ change: JobChange, now: Date, _ db: Database, platforms: [String]) throws -> Job {
        let job = change.job
        guard let stored = try JobRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM job WHERE id = ?"), arguments: [job.id]) else {
            throw StoreFailure(kind: .other, location: "job", operation: "record job #\(job.id)", detail: "there is no job #\(job.id)")
        }
        guard stored.version == job.version else { throw StoreConflict(jobID: job.id) }
        var row = JobRow(job)
        row.version = stored.version + 1
        try row.update(db)
        let positions = job.steps.map(\.position)
        // One statement text whatever the positions (a JSON array), so it is compiled once.
        try db.cachedStatement(sql: "DELETE FROM jobStep WHERE jobID = ? AND position NOT IN (SELECT value FROM json_each(?))")
            .execute(arguments: [job.id, "[\(positions.map(String.init).joined(separator: ","))]"])
        try writeParts(of: change, now: now, db, platforms: platforms)
        guard let saved = try loadJob(id: job.id, db) else { throw StoreConflict(jobID: job.id) }
        return saved
    }

    /// Writes the first transition of a job that is not in the database yet (`change.job.id`
    /// is the next id), as `apply` would after inserting it: version 1.
    /// `postsDue`: when its notices fall due on platforms that hold new posts back (`NoticePlatforms`).
    static func insertNew(_ change: JobChange, now: Date, _ db: Database, platforms: [String], postsDue: [String: Date] = [:]) throws -> Job {
        var job = change.job
        job.version += 1
        var row = JobRow(job)
        try row.insertPrepared(db)
        guard row.id == job.id else {
            throw StoreFailure(kind: .other, location: "job", operation: "insert job #\(job.id)", detail: "stored as #\(row.id ?? 0)")
        }
        try writeParts(of: change, now: now, db, platforms: platforms, postsDue: postsDue)
        // Steps, approvals and followers come back from the database in its order.
        if job.steps.isEmpty, job.approvals.isEmpty, job.followers.isEmpty { return job }
        guard let saved = try loadJob(id: job.id, db) else { throw StoreConflict(jobID: job.id) }
        return saved
    }

    /// Everything of a transition but the job row: steps, approvals, followers, registry,
    /// revisions, audit entries, notices.
    private static func writeParts(of change: JobChange, now: Date, _ db: Database, platforms: [String], postsDue: [String: Date] = [:]) throws {
        let job = change.job
        for step in job.steps {
            var stepRow = JobStepRow(step, jobID: job.id)
            try stepRow.upsert(db)
        }
        for approval in job.approvals {
            try db.cachedStatement(
                sql: """
                    INSERT INTO approval (jobID, user, decision, planJSON, reason, at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (jobID, user, planJSON) DO NOTHING
                    """
            ).execute(arguments: [job.id, approval.user, approval.decision, approval.plan, approval.reason, approval.at])
        }
        for follower in job.followers {
            try db.cachedStatement(sql: "INSERT INTO jobFollower (jobID, user, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .execute(arguments: [job.id, follower, now])
        }
        if let registry = change.registry {
            try setRegistry(registry, actor: "coxswain", jobID: job.id, now: now, db)
        }
        try recordRevisions(job, db)
        try insertAudit(change.audit, jobID: job.id, now: now, db)
        try insertNotices(change.notices, route: nil, now: now, db, platforms: platforms, postsDue: postsDue)
    }

    /// Once a job's helm rollback or upgrade ran, the revision it created (and, for a
    /// successful rollback, the one it left) is recorded for planning and `/history`.
    static func recordRevisions(_ job: Job, _ db: Database) throws {
        guard let plan = job.plan else { return }
        let ran = job.steps.filter { ["helm.rollback", "helm.upgrade"].contains($0.action) && [.succeeded, .failed].contains($0.status) }
        guard !ran.isEmpty else { return }
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO createdRevision (release, revision, jobID) VALUES (?, ?, ?)")
            .execute(arguments: [job.request.release, plan.from.revision + 1, job.id])
        if job.request.kind == .rollback, ran.contains(where: { $0.action == "helm.rollback" && $0.status == .succeeded }) {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO rolledBackFrom (release, revision) VALUES (?, ?)")
                .execute(arguments: [job.request.release, plan.from.revision])
        }
    }

    /// Appends to the hash chain: SQLite has one writer at a time, so the head read here is
    /// still the head when the transaction commits.
    static func insertAudit(_ drafts: [AuditDraft], jobID: Int64?, now: Date, _ db: Database) throws {
        guard !drafts.isEmpty else { return }
        var head = try auditHead(db) ?? AuditHead(seq: 0, hash: AuditChain.genesis)
        let at = now.asStored
        for draft in drafts {
            let seq = head.seq + 1
            let hash = AuditChain.hash(
                seq: seq, atMilliseconds: AuditChain.milliseconds(at), jobID: jobID, actor: draft.actor, event: draft.event, detail: draft.detail,
                previous: head.hash)
            var row = AuditRow(id: nil, seq: seq, at: at, jobID: jobID, actor: draft.actor, event: draft.event, detail: draft.detail, hash: hash)
            try row.insertPrepared(db)
            head = AuditHead(seq: seq, hash: hash)
        }
    }

    static func auditHead(_ db: Database) throws -> AuditHead? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM auditEntry ORDER BY seq DESC LIMIT 1")).map { AuditHead(seq: $0[0], hash: $0[1]) }
    }
}

extension JobStepRow {
    /// Inserts or replaces the step at its position.
    mutating func upsert(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO jobStep (jobID, position, action, title, status, note, detail, startedAt, finishedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (jobID, position) DO UPDATE SET action = excluded.action, title = excluded.title, status = excluded.status,
                note = excluded.note, detail = excluded.detail, startedAt = excluded.startedAt, finishedAt = excluded.finishedAt
                """
        ).execute(arguments: [jobID, position, action, title, status, note, detail, startedAt, finishedAt])
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
