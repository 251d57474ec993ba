import CoxswainCore
import Foundation
import PostgresNIO

// The webhook's two statements, each of one text whatever the number of requests (their rows
// go as arrays), prepared once per connection: parsing and planning them on every group cost
// 15 % of the webhook's throughput (1,508 against 1,783 req/s; Benchmarks/README.md, "The
// webhook on PostgreSQL", steps 7 and 8).

/// For each request key, in order: whether it was recorded before (a retry) and with which job;
/// if not, a new job id and the number of jobs ahead of it in its release's line. Outside a
/// transaction: a sequence hands out ids whatever becomes of them, and the count is a hint.
/// Planned once: the arrays come through `(SELECT $n)`, whose size the planner cannot see, so
/// PostgreSQL's plan cache keeps the generic plan instead of planning every group (0.22 ms
/// each). The key and the queue are scalar subqueries, index probes in any plan: as a join,
/// the generic plan read the whole table of request keys (Benchmarks/README.md, step 9).
/// A key seen without a job yet reads as 0 (job ids start at 1).
struct TakeJobIDs: PostgresPreparedStatement {
    /// `id` is nil for a retry; `seenJob` is then the job its key names, if one does yet.
    struct Row {
        var seenJob: Int64?
        var id: Int64?
        var ahead: Int
    }

    static let sql = """
        SELECT NULLIF(seen, 0) AS seenJob, CASE WHEN seen IS NULL THEN nextval('job_id_seq') END AS id, ahead
        FROM (
            SELECT asked.n,
                (SELECT COALESCE(jobID, 0) FROM receivedRequest WHERE receivedRequest.key = asked.key) AS seen,
                (SELECT COUNT(*) FROM (SELECT 1 FROM job WHERE job.release = asked.release AND job.state IN ('queued', 'running')
                    LIMIT \(JobLifecycle.countedAhead + 1)) AS queue) AS ahead
            FROM unnest((SELECT $1::text[]), (SELECT $2::text[])) WITH ORDINALITY AS asked (key, release, n)
            OFFSET 0) AS looked
        ORDER BY n
        """

    var keys: [String]
    var releases: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(ColumnArray(keys))
        bindings.append(ColumnArray(releases))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (seenJob, id, ahead) = try row.decode((Int64?, Int64?, Int).self)
        return Row(seenJob: seenJob, id: id, ahead: ahead)
    }
}

/// New jobs, each with its request key, audit entries, first notices and message references,
/// in one statement. A job is written only if its request key is: a key another transaction
/// took first (a retry on another replica) leaves its job out, rows beside it included. A key
/// taken without a job in this same transaction (the joining intake takes it first) is given
/// the job. Returns the ids of the jobs written.
struct WriteNewJobs: PostgresPreparedStatement {
    typealias Row = Int64

    static let jobColumns: [String] = {
        var row = RowBindings()
        PostgresStore.columns(Job(id: 0, request: template, createdAt: Date(timeIntervalSince1970: 0)), into: &row)
        return row.names
    }()

    private static let template = JobRequest(
        kind: .rollback, command: "", release: "", environment: "", namespace: "", model: "", requestedBy: "", channel: "", platform: "")

    static let sql: String = {
        let jobs = jobColumns.count
        let placeholders = (4..<6 + jobs).map { "$\($0)" }.joined(separator: ", ")
        let names = jobColumns.joined(separator: ", ")
        func arrays(_ count: Int, after: Int) -> String { (after + 1...after + count).map { "$\($0)" }.joined(separator: ", ") }
        let audit = 5 + jobs, notices = audit + 5, references = notices + 8
        return """
            WITH keys AS (
                INSERT INTO receivedRequest (key, jobID, receivedAt) SELECT * FROM unnest($1, $2, $3) ORDER BY 1
                ON CONFLICT (key) DO UPDATE SET jobID = excluded.jobID WHERE receivedRequest.jobID IS NULL
                RETURNING jobID),
            job_rows AS (
                INSERT INTO job (id, version, \(names))
                SELECT * FROM unnest(\(placeholders)) AS given (id, version, \(names)) WHERE given.id IN (SELECT jobID FROM keys)
                RETURNING id),
            audit_rows AS (
                INSERT INTO auditEntry (at, jobID, actor, event, detail)
                SELECT * FROM unnest(\(arrays(5, after: audit))) AS given (at, jobID, actor, event, detail)
                WHERE given.jobID IN (SELECT jobID FROM keys)),
            notice_rows AS (
                INSERT INTO notice (jobID, platform, place, payload, state, head, attempts, notBefore, createdAt)
                SELECT given.jobID, given.platform, given.place, given.payload, 'pending', given.head, 0, given.due, given.at
                FROM unnest(\(arrays(8, after: notices))) AS given (owner, jobID, platform, place, payload, head, at, due)
                WHERE given.owner IN (SELECT jobID FROM keys)),
            reference_rows AS (
                INSERT INTO messageRef (jobID, platform, role, channel, ts, url)
                SELECT * FROM unnest(\(arrays(6, after: references))) AS given (jobID, platform, role, channel, ts, url)
                WHERE given.jobID IN (SELECT jobID FROM keys)
                ON CONFLICT (jobID, platform, role) DO UPDATE SET channel = excluded.channel, ts = excluded.ts,
                    url = COALESCE(excluded.url, messageRef.url))
            SELECT id FROM job_rows
            """
    }()

    private var keys = ColumnArray(of: String.self), keyJobs = ColumnArray(of: Int64.self), received = ColumnArray(of: Stamp.self)
    private var ids = ColumnArray(of: Int64.self), versions = ColumnArray(of: Int.self), jobs = ColumnArrays()
    private var audit = [
        ColumnArray(of: Stamp.self), ColumnArray(of: Int64.self), ColumnArray(of: String.self), ColumnArray(of: String.self),
        ColumnArray(of: String.self),
    ]
    private var notices = [
        ColumnArray(of: Int64.self), ColumnArray(of: Int64.self), ColumnArray(of: String.self), ColumnArray(of: String.self),
        ColumnArray(of: String.self), ColumnArray(of: Bool.self), ColumnArray(of: Stamp.self), ColumnArray(of: Stamp.self),
    ]
    private var references = [
        ColumnArray(of: Int64.self), ColumnArray(of: String.self), ColumnArray(of: String.self), ColumnArray(of: String.self),
        ColumnArray(of: String.self), ColumnArray(of: String.self),
    ]

    /// `job` (its version as written) and what `new` records beside it.
    mutating func add(_ job: Job, _ new: PostgresStore.NewJob) throws {
        let stamp = Stamp(new.now)
        keys.append(new.requestKey); keyJobs.append(job.id); received.append(stamp)
        ids.append(job.id); versions.append(job.version)
        jobs.nextRow()
        PostgresStore.columns(job, into: &jobs)
        for draft in new.change.audit {
            audit[0].append(stamp); audit[1].append(job.id); audit[2].append(draft.actor); audit[3].append(draft.event); audit[4].append(draft.detail)
        }
        for platform in new.platforms {
            let due = new.postsDue[platform].map(Stamp.init) ?? stamp
            var waiting = Set<Int64>()
            for notice in try PostgresStore.firstNotices(new.change.notices) {
                // The job is new: its first notice on each platform has the turn (one of no job always has it).
                let head = notice.jobID.map { waiting.insert($0).inserted } ?? true
                notices[0].append(job.id); notices[1].append(notice.jobID); notices[2].append(platform); notices[3].append(notice.place)
                notices[4].append(notice.payload); notices[5].append(head); notices[6].append(stamp); notices[7].append(due)
            }
        }
        for reference in new.references {
            references[0].append(job.id); references[1].append(reference.platform); references[2].append(reference.role)
            references[3].append(reference.channel); references[4].append(reference.ts); references[5].append(reference.url)
        }
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5 + Self.jobColumns.count + 19)
        for array in [keys, keyJobs, received, ids, versions] + jobs.arrays + audit + notices + references { bindings.append(array) }
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

extension PostgresConnection {
    /// Runs `statement`, prepared on this connection the first time; its rows, decoded.
    /// PostgresNIO 1.33.2 keeps a failed preparation for the connection's life, so after any
    /// failure the connection is closed and the pool makes a new one instead of failing every
    /// later group on it.
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row] {
        do {
            var rows: [Statement.Row] = []
            for try await row in try await execute(statement, logger: Self.quiet) { rows.append(row) }
            return rows
        } catch {
            try? await close()
            throw error
        }
    }
}
