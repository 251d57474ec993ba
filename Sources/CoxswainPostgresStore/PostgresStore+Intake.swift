import CoxswainCore
import Foundation
import PostgresNIO

/// New jobs as the webhook records them, in one statement however many: the jobs, their
/// audit entries, their first notices, the request keys' jobs and the message references.
/// Each statement is a round trip through PostgresNIO, and at one statement per row the
/// webhook spent its time there (13 round trips per request; Benchmarks/README.md, "The
/// webhook on PostgreSQL").
extension PostgresStore {
    /// A new job and what intake records beside it.
    struct NewJob: Sendable {
        var change: JobChange
        var requestKey: String
        var references: [MessageReference]
        var now: Date
    }

    /// A new job is what `JobLifecycle.accepted` makes of a request: no steps, approvals,
    /// followers, plan or registry change yet. Anything more is refused, never half written.
    static func refuseMoreThanIntake(_ change: JobChange, location: String) throws {
        let job = change.job
        guard job.steps.isEmpty, job.approvals.isEmpty, job.followers.isEmpty, change.registry == nil, job.plan == nil else {
            throw StoreFailure(
                kind: .other, location: location, operation: "record job #\(job.id)",
                detail: "a new job came with steps, approvals, followers, a plan or a registry change, which intake never writes")
        }
    }

    /// Writes `jobs` and forgets the request keys in `dropping` (requests whose caller gave up
    /// after their key was taken), in one statement; returns the jobs as a read gives them.
    static func insertAccepted(_ jobs: [NewJob], dropping: [String] = [], location: String, _ db: PostgresConnection) async throws -> [Job] {
        var statement = Statement(bindings: PostgresBindings(), count: 0)
        var names: [String] = []
        var jobRows: [String] = [], auditRows: [String] = [], noticeRows: [String] = [], requestRows: [String] = [], referenceRows: [String] = []
        var written: [Job] = []
        for new in jobs {
            let stamp = Stamp(new.now)
            try refuseMoreThanIntake(new.change, location: location)
            var job = new.change.job
            job.version += 1
            let first = statement.count + 1
            names = columns(job, into: &statement.bindings)
            statement.count += names.count
            let values = (first..<first + names.count).map { "$\($0)" } + [statement.bind(job.id), statement.bind(job.version)]
            jobRows.append("(\(values.joined(separator: ", ")))")
            for draft in new.change.audit {
                auditRows.append(
                    "(\(statement.bind(stamp)), \(statement.bind(job.id)), \(statement.bind(draft.actor)), \(statement.bind(draft.event)), "
                        + "\(statement.bind(draft.detail)))")
            }
            let notices = try firstNotices(new.change.notices)
            for platform in platforms {
                var waiting = Set<Int64>()
                for notice in notices {
                    // The job is new: its first notice on each platform has the turn (one of no job always has it).
                    let head = notice.jobID.map { waiting.insert($0).inserted } ?? true
                    noticeRows.append(
                        "(\(statement.bind(notice.jobID)), \(statement.bind(platform)), \(statement.bind(notice.place)), "
                            + "\(statement.bind(notice.payload)), NULL, 'pending', \(head ? "TRUE" : "FALSE"), 0, \(statement.bind(stamp)), "
                            + "\(statement.bind(stamp)))")
                }
            }
            requestRows.append("(\(statement.bind(job.id)), \(statement.bind(new.requestKey)))")
            for reference in new.references {
                referenceRows.append(
                    "(\(statement.bind(job.id)), \(statement.bind(reference.platform)), \(statement.bind(reference.role)), "
                        + "\(statement.bind(reference.channel)), \(statement.bind(reference.ts)), \(statement.bind(reference.url)))")
            }
            written.append(asRead(job))
        }
        var parts: [String] = []
        if !jobRows.isEmpty {
            parts.append("job_rows AS (INSERT INTO job (\(names.joined(separator: ", ")), id, version) VALUES \(jobRows.joined(separator: ", ")) RETURNING id)")
            parts.append(
                "request_rows AS (UPDATE receivedRequest SET jobID = given.jobID FROM (VALUES \(requestRows.joined(separator: ", "))) AS given (jobID, key) "
                    + "WHERE receivedRequest.key = given.key)")
        }
        if !auditRows.isEmpty {
            parts.append("audit_rows AS (INSERT INTO auditEntry (at, jobID, actor, event, detail) VALUES \(auditRows.joined(separator: ", ")))")
        }
        if !noticeRows.isEmpty {
            parts.append(
                "notice_rows AS (INSERT INTO notice (jobID, platform, place, payload, route, state, head, attempts, notBefore, createdAt) "
                    + "VALUES \(noticeRows.joined(separator: ", ")))")
        }
        if !referenceRows.isEmpty {
            parts.append(
                "reference_rows AS (INSERT INTO messageRef (jobID, platform, role, channel, ts, url) VALUES \(referenceRows.joined(separator: ", ")) "
                    + "ON CONFLICT (jobID, platform, role) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, "
                    + "url = COALESCE(excluded.url, messageRef.url))")
        }
        if !dropping.isEmpty { parts.append("dropped AS (DELETE FROM receivedRequest WHERE key = ANY(\(statement.bind(dropping))))") }
        guard !parts.isEmpty else { return [] }
        let sql = "WITH " + parts.joined(separator: ",\n") + (jobRows.isEmpty ? "\nSELECT 1 WHERE FALSE" : "\nSELECT id FROM job_rows")
        guard try await db.run(PostgresQuery(unsafeSQL: sql, binds: statement.bindings)) == jobs.count else {
            throw StoreConflict(jobID: jobs.first?.change.job.id ?? 0)
        }
        return written
    }

    /// A new job's notices as `insertNotices` would leave them: a replaceable place written
    /// twice keeps its first turn and its last content.
    private static func firstNotices(_ notices: [Notice]) throws -> [(jobID: Int64?, place: String, payload: String)] {
        var rows: [(jobID: Int64?, place: String, payload: String)] = []
        for notice in notices {
            let row = (jobID: notice.jobID, place: notice.place.key, payload: try NoticeCoding.encode(notice))
            if notice.place.isReplaceable, row.jobID != nil, let earlier = rows.firstIndex(where: { $0.place == row.place && $0.jobID == row.jobID }) {
                rows[earlier].payload = row.payload
            } else {
                rows.append(row)
            }
        }
        return rows
    }
}

/// Bind parameters numbered as they are added: `bindings` already holds `count` values,
/// `$1` to `$count`.
struct Statement {
    var bindings: PostgresBindings
    var count: Int

    mutating func bind<T: PostgresDynamicTypeEncodable>(_ value: T?) -> String {
        bindings.append(value)
        count += 1
        return "$\(count)"
    }
}
