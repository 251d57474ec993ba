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
        let createdAt = Stamp.rounded(now)
        return try await write("record the request \(request.command) \(request.release)") { db in
            // A request that may join an open rollback is taken one at a time per release, as SQLite's
            // one writer takes it: the join is decided on what the last one left. Others (upgrades)
            // need no order: a retry is caught by the request key's unique index (the second insert
            // waits for the first to commit), and a place in line counted beside concurrent requests
            // misses only those taken at the same moment. Serialising them cost 95 % of the webhook's throughput on a
            // busy release (Benchmarks/README.md, "The webhook on PostgreSQL").
            if join != nil { try await Self.lock(release: request.release, db) }
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
            guard let id = try row("id", Int64?.self) else {
                if let seen = try await db.one("SELECT jobID FROM receivedRequest WHERE key = \(requestKey)", Int64?.self) ?? nil,
                    let job = try await Self.loadJob(id: seen, db)
                {
                    return .duplicate(job)
                }
                throw StoreFailure(
                    kind: .other, location: self.location, operation: "record the request", detail: "the request key was taken without a job")
            }
            if let join, let open = try await Self.joinable(join, db) {
                let job = try await Self.apply(joined(open), now: now, db)
                try await db.run("UPDATE receivedRequest SET jobID = \(job.id) WHERE key = \(requestKey)")
                for var reference in references {
                    reference.jobID = job.id
                    try await Self.save(reference, db)
                }
                return .joined(job)
            }
            let ahead = try row("ahead", Int.self)
            let change = created(Job(id: id, request: request, approvalsRequired: approvalsRequired, createdAt: createdAt), ahead)
            return .created(
                try await Self.insertAccepted(change, requestKey: requestKey, references: references, now: now, location: self.location, db),
                jobsAhead: ahead)
        }
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
        try await write("record job #\(change.job.id)'s \(change.audit.first?.event ?? "change")") { db in try await Self.apply(change, now: now, db) }
    }

    public func claimNext(now: Date, change: @escaping @Sendable (Job) -> JobChange) async throws -> Job? {
        // Most of the time nothing is runnable: look without taking any lock.
        guard try await read("look for a runnable job", { db in try await Self.runnableJob(db, lock: false) }) != nil else { return nil }
        do {
            return try await write("claim a job") { db in
                guard let job = try await Self.runnableJob(db, lock: true) else { return nil }
                return try await Self.apply(change(job), now: now, db)
            }
        } catch let failure as StoreFailure where failure.isUniqueViolation {
            // Another replica started a job of the same model meanwhile: the index refused
            // this one, and the next pass looks again.
            return nil
        }
    }

    /// The oldest queued job whose release (and model in its environment) has no running
    /// job. With `lock`, the job's release and model are locked for the transaction and its
    /// row taken; a candidate whose lock another transaction holds is skipped, never waited
    /// for, so two replicas claiming at once cannot deadlock (the next pass sees it again).
    static func runnableJob(_ db: PostgresConnection, lock: Bool) async throws -> Job? {
        let candidates = try await db.all(
            "SELECT DISTINCT ON (release) id FROM job WHERE state = 'queued' ORDER BY release, id", Int64.self
        ).sorted()
        for id in candidates {
            if lock {
                guard let release = try await db.one("SELECT release FROM job WHERE id = \(id)", String.self),
                    try await tryLock("release:" + release, db),
                    try await db.one("SELECT id FROM job WHERE id = \(id) AND state = 'queued' FOR UPDATE SKIP LOCKED", Int64.self) != nil
                else { continue }
            }
            guard let job = try await loadJob(id: id, db), job.state == .queued else { continue }
            if lock, !(try await tryLock("model:" + job.request.model + "@" + job.request.environment, db)) { continue }
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

    public func oldestWait(environment: String) async throws -> Date? {
        try await read("read the oldest wait in \(environment)") { db in
            try await db.one(
                "SELECT MIN(waitingSince) FROM job WHERE environment = \(environment) AND state IN \(unescaped: Self.waitingStates)", Stamp?.self
            )??.date
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
            var byRevision: [Int: Job] = [:]
            for row in rows {
                if let job = try await Self.loadJob(id: try row("jobID"), db) { byRevision[try row("revision", Int.self)] = job }
            }
            return byRevision
        }
    }

    public func revisionsRolledBackFrom(release: String, since oldest: Int) async throws -> Set<Int> {
        try await read("read revisions rolled back from") { db in
            Set(try await db.all("SELECT revision FROM rolledBackFrom WHERE release = \(release) AND revision >= \(oldest)", Int.self))
        }
    }

    /// The jobs a query of ids finds, in its order.
    func jobs(_ operation: String, _ query: @escaping @Sendable () -> PostgresQuery) async throws -> [Job] {
        try await read(operation) { db in
            var jobs: [Job] = []
            for id in try await db.all(query(), Int64.self) {
                if let job = try await Self.loadJob(id: id, db) { jobs.append(job) }
            }
            return jobs
        }
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
