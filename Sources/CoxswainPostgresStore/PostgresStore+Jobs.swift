import CoxswainCore
import Foundation
import PostgresNIO

extension PostgresStore: JobStore {
    static let openStates = "('queued', 'awaiting_approval', 'awaiting_confirmation', 'running')"
    static let waitingStates = "('awaiting_approval', 'awaiting_confirmation')"

    public func accept(
        _ request: JobRequest, approvalsRequired: Int, requestKey: String, references: [MessageReference], now: Date, join: JoinFilter?,
        created: @escaping @Sendable (Job, Int) -> JobChange,
        joined: @escaping @Sendable (Job) -> JobChange
    ) async throws -> IntakeResult {
        guard let join else {
            // Nothing to join: the request goes with whatever others arrive meanwhile, in one transaction.
            return try await intake.submit(
                IntakeGroup.Request(
                    request: request, approvalsRequired: approvalsRequired, requestKey: requestKey, references: references, now: now, created: created),
                to: self)
        }
        let createdAt = Stamp.rounded(now)
        return try await write("record the request \(request.command) \(request.release)") { db in
            // A request that may join an open rollback is taken one at a time per release, as SQLite's
            // one writer takes it: the join is decided on what the last one left. Others (upgrades)
            // need no order (`IntakeGroup`): serialising them cost 95 % of the webhook's throughput
            // on a busy release (Benchmarks/README.md, "The webhook on PostgreSQL").
            try await Self.lock(release: request.release, db)
            // One round trip takes the request key and, when it is new, a job id and the number of
            // jobs ahead (every job in the table is older than the new one). A join wastes the id.
            guard
                let row = try await db.rows(
                    """
                    WITH fresh AS (INSERT INTO receivedRequest (key, receivedAt) VALUES (\(requestKey), \(Stamp(now)))
                        ON CONFLICT (key) DO NOTHING RETURNING id)
                    SELECT CASE WHEN EXISTS (SELECT 1 FROM fresh) THEN nextval('job_id_seq') END AS id,
                        (SELECT COUNT(*) FROM (SELECT 1 FROM job WHERE release = \(request.release)
                            AND state IN ('queued', 'running') LIMIT \(JobLifecycle.countedAhead + 1)) AS queue) AS ahead
                    """
                ).first
            else { throw StoreFailure(kind: .other, location: self.location, operation: "take a job id", detail: "no row came back") }
            guard let id = try row("id", Int64?.self) else { return try await Self.duplicate(requestKey, location: self.location, db) }
            if let open = try await Self.joinable(join, db) {
                let job = try await Self.apply(joined(open), now: now, db, platforms: self.platforms)
                try await db.run("UPDATE receivedRequest SET jobID = \(job.id) WHERE key = \(requestKey)")
                for var reference in references {
                    reference.jobID = job.id
                    try await Self.save(reference, db)
                }
                return .joined(job)
            }
            let ahead = try row("ahead", Int.self)
            let change = created(Job(id: id, request: request, approvalsRequired: approvalsRequired, createdAt: createdAt), ahead)
            let new = NewJob(
                change: change, requestKey: requestKey, references: references, now: now, platforms: self.platforms,
                postsDue: self.noticePlatforms.postsDue(now: now))
            guard let job = try await Self.insertAccepted([new], location: self.location, db).first else { throw StoreConflict(jobID: id) }
            return .created(job, jobsAhead: ahead)
        }
    }

    /// The job a request key already made (a retry): the statement that found the key taken
    /// waited for its transaction, and this one sees what it committed.
    static func duplicate(_ requestKey: String, location: String, _ db: PostgresConnection) async throws -> IntakeResult {
        if let seen = try await db.one("SELECT jobID FROM receivedRequest WHERE key = \(requestKey)", Int64?.self) ?? nil,
            let job = try await loadJob(id: seen, db)
        {
            return .duplicate(job)
        }
        throw StoreFailure(kind: .other, location: location, operation: "record the request", detail: "the request key was taken without a job")
    }

    /// The oldest open rollback the filter joins, locked until the transaction ends; the
    /// rule is checked again on it.
    static func joinable(_ filter: JoinFilter, _ db: PostgresConnection) async throws -> Job? {
        let revision = filter.revision.map { "AND requestedRevision = \($0)" } ?? ""
        let emergency = filter.emergency ? "AND (state = 'running' OR emergency)" : ""
        let id = try await db.one(
            """
            SELECT id FROM job WHERE release = \(filter.release) AND kind = 'rollback' AND state IN \(unescaped: openStates)
            \(unescaped: revision) \(unescaped: emergency) ORDER BY id LIMIT 1 FOR UPDATE
            """, Int64.self)
        guard let id, let job = try await loadJob(id: id, db) else { return nil }
        return filter.matches(job) ? job : nil
    }

    public func job(id: Int64) async throws -> Job? {
        try await read("read job #\(id)") { db in try await Self.loadJob(id: id, db) }
    }

    @discardableResult
    public func commit(_ change: JobChange, now: Date) async throws -> Job {
        let platforms = self.platforms
        return try await write("record job #\(change.job.id)'s \(change.audit.first?.event ?? "change")") { db in
            try await Self.apply(change, now: now, db, platforms: platforms)
        }
    }

    public func claimNext(now: Date, change: @escaping @Sendable (Job) -> JobChange) async throws -> Job? {
        // Most of the time nothing is runnable: one statement, outside a transaction, no lock.
        guard try await !look("look for a runnable job", { db in try await Self.runnableCandidates(db) }).isEmpty else { return nil }
        do {
            return try await write("claim a job") { db in
                guard let job = try await Self.runnableJob(db) else { return nil }
                return try await Self.apply(change(job), now: now, db, platforms: self.platforms)
            }
        } catch let failure as StoreFailure where failure.isUniqueViolation {
            // Another replica started a job of the same model meanwhile: the index refused
            // this one, and the next pass looks again.
            return nil
        }
    }

    /// The jobs that could start now, oldest first: the oldest queued job of each release
    /// whose release, and model in its environment, have no running job. The releases are
    /// found one index probe each (a skip scan, which PostgreSQL does not make by itself:
    /// `DISTINCT ON (release)` read every queued job, thousands behind a held release).
    static func runnableCandidates(_ db: PostgresConnection) async throws -> [Int64] {
        try await db.all(
            """
            WITH RECURSIVE queued(release) AS (
                SELECT MIN(release) FROM job WHERE state = 'queued'
                UNION ALL
                SELECT (SELECT MIN(release) FROM job WHERE state = 'queued' AND release > queued.release) FROM queued WHERE queued.release IS NOT NULL
            ), heads AS (
                SELECT (SELECT MIN(id) FROM job WHERE state = 'queued' AND release = queued.release) AS id FROM queued WHERE release IS NOT NULL
            )
            SELECT job.id FROM heads JOIN job ON job.id = heads.id
            WHERE NOT EXISTS (SELECT 1 FROM job AS other WHERE other.release = job.release AND other.state = 'running')
                AND NOT EXISTS (SELECT 1 FROM job AS other WHERE other.model = job.model AND other.environment = job.environment AND other.state = 'running')
            ORDER BY job.id
            """, Int64.self)
    }

    /// The first runnable job, its release and model locked for the transaction and its row
    /// taken. A candidate whose lock another transaction holds is skipped, never waited for,
    /// so two replicas claiming at once cannot deadlock (the next pass sees it again); what
    /// runs is checked again under the locks.
    static func runnableJob(_ db: PostgresConnection) async throws -> Job? {
        for id in try await runnableCandidates(db) {
            guard let release = try await db.one("SELECT release FROM job WHERE id = \(id)", String.self),
                try await tryLock("release:" + release, db),
                try await db.one("SELECT id FROM job WHERE id = \(id) AND state = 'queued' FOR UPDATE SKIP LOCKED", Int64.self) != nil,
                let job = try await loadJob(id: id, db), job.state == .queued,
                try await tryLock("model:" + job.request.model + "@" + job.request.environment, db)
            else { continue }
            let blocked = try await db.one(
                """
                SELECT EXISTS (SELECT 1 FROM job WHERE release = \(job.request.release) AND state = 'running')
                    OR EXISTS (SELECT 1 FROM job WHERE model = \(job.request.model) AND environment = \(job.request.environment) AND state = 'running')
                """, Bool.self)
            if blocked == false { return job }
        }
        return nil
    }

    public func waitingJobs(environment: String, since cutoff: Date) async throws -> [Job] {
        try await jobs("read jobs waiting in \(environment)") {
            """
            SELECT id FROM job WHERE environment = \(environment) AND state IN \(unescaped: Self.waitingStates) AND waitingSince <= \(Stamp(cutoff))
            ORDER BY waitingSince
            """
        }
    }

    public func oldestWaits(environments: [String]) async throws -> [String: Date] {
        guard !environments.isEmpty else { return [:] }
        // One index probe per environment (job_waiting), in one statement.
        return try await look("read the oldest waits") { db in
            var oldest: [String: Date] = [:]
            let rows = try await db.rows(
                """
                SELECT name, (SELECT MIN(waitingSince) FROM job WHERE environment = name AND state IN \(unescaped: Self.waitingStates)) AS since
                FROM unnest(\(environments)::text[]) AS name
                """)
            for row in rows {
                if let since: Stamp = try row("since") { oldest[try row("name")] = since.date }
            }
            return oldest
        }
    }

    public func queuedWithoutBasis() async throws -> [Job] {
        try await jobs("read queued jobs without their basis") {
            """
            SELECT id FROM job WHERE state = 'queued' AND kind = 'rollback' AND basisRevision IS NULL
            AND release IN (SELECT release FROM job WHERE state = 'running') ORDER BY id
            """
        }
    }

    public func jobCounts() async throws -> [JobCount] {
        try await read("count jobs by state") { db in
            try await db.rows("SELECT command, environment, state, COUNT(*) AS n FROM job GROUP BY command, environment, state").map {
                JobCount(command: try $0("command"), environment: try $0("environment"), state: try $0("state"), count: try $0("n", Int.self))
            }
        }
    }

    public func openJobs() async throws -> [Job] {
        try await jobs("read open jobs") { "SELECT id FROM job WHERE state IN \(unescaped: Self.openStates) ORDER BY id" }
    }

    public func runningJobs() async throws -> [Job] {
        try await jobs("read running jobs") { "SELECT id FROM job WHERE state = 'running' ORDER BY id" }
    }

    public func recentJobs(release: String?, limit: Int) async throws -> [Job] {
        try await jobs("read recent jobs") {
            if let release { return "SELECT id FROM job WHERE release = \(release) ORDER BY id DESC LIMIT \(limit)" }
            return "SELECT id FROM job ORDER BY id DESC LIMIT \(limit)"
        }
    }

    public func unacknowledgedEmergencies() async throws -> [Job] {
        try await jobs("read unacknowledged break-glass jobs") { "SELECT id FROM job WHERE emergency AND acknowledgedBy IS NULL ORDER BY id" }
    }

    public func validatedUpgrade(release: String, version: String) async throws -> Job? {
        try await jobs("look for a validated upgrade") {
            """
            SELECT id FROM job WHERE release = \(release) AND kind = 'upgrade' AND state = 'succeeded' AND requestedVersion IS NOT NULL
            AND planJSON::jsonb ->> 'targetVersion' = \(version) ORDER BY id DESC LIMIT 1
            """
        }.first
    }

    public func jobsByCreatedRevision(release: String, since oldest: Int) async throws -> [Int: Job] {
        try await read("read the jobs behind revisions") { db in
            let rows = try await db.rows("SELECT revision, jobID FROM createdRevision WHERE release = \(release) AND revision >= \(oldest)")
            // One job may stand behind several revisions: its id is asked for, and comes back, once per row.
            let loaded = try await Self.loadJobs(ids: try rows.map { try $0("jobID") }, db)
            let jobs = Dictionary(loaded.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            var byRevision: [Int: Job] = [:]
            for row in rows {
                if let job = jobs[try row("jobID")] { byRevision[try row("revision", Int.self)] = job }
            }
            return byRevision
        }
    }

    public func revisionsRolledBackFrom(release: String, since oldest: Int) async throws -> Set<Int> {
        try await read("read revisions rolled back from") { db in
            Set(try await db.all("SELECT revision FROM rolledBackFrom WHERE release = \(release) AND revision >= \(oldest)", Int.self))
        }
    }

    public func revisionsThatPassedAWatch(release: String, since oldest: Int) async throws -> [Int: Int64] {
        try await read("read revisions that passed a watch") { db in
            let rows = try await db.rows(
                """
                SELECT createdRevision.revision, createdRevision.jobID FROM createdRevision
                JOIN watch ON watch.jobID = createdRevision.jobID
                WHERE createdRevision.release = \(release) AND createdRevision.revision >= \(oldest) AND watch.state = 'healthy'
                """)
            var passed: [Int: Int64] = [:]
            for row in rows {
                let revision = try row("revision", Int.self), job: Int64 = try row("jobID")
                passed[revision] = max(passed[revision] ?? job, job)
            }
            return passed
        }
    }

    /// The jobs a query of ids finds, in its order.
    func jobs(_ operation: String, _ query: @escaping @Sendable () -> PostgresQuery) async throws -> [Job] {
        try await read(operation) { db in try await Self.loadJobs(ids: try await db.all(query(), Int64.self), db) }
    }

    // MARK: locks

    /// Serialises intake of one release until the transaction ends (claims only try it).
    static func lock(release: String, _ db: PostgresConnection) async throws {
        try await db.run("SELECT pg_advisory_xact_lock(hashtextextended(\("release:" + release), 0))")
    }

    /// Takes the lock `key` for the transaction if nobody holds it.
    static func tryLock(_ key: String, _ db: PostgresConnection) async throws -> Bool {
        try await db.one("SELECT pg_try_advisory_xact_lock(hashtextextended(\(key), 0))", Bool.self) == true
    }
}
