import CoxswainCore
import Foundation
import PostgresNIO

/// A new job as the webhook records it, in one statement: the job, its audit entries, its
/// first notices, the request key's job and the message references. Each statement is a round
/// trip through PostgresNIO, and at one statement per row the webhook spent its time there
/// (13 round trips per request; Benchmarks/README.md, "The webhook on PostgreSQL").
extension PostgresStore {
    /// A new job is what `JobLifecycle.accepted` makes of a request: no steps, approvals,
    /// followers, plan or registry change yet. Anything more is refused, never half written.
    static func insertAccepted(
        _ change: JobChange, requestKey: String, references: [MessageReference], now: Date, location: String, _ db: PostgresConnection
    ) async throws -> Job {
        var job = change.job
        guard job.steps.isEmpty, job.approvals.isEmpty, job.followers.isEmpty, change.registry == nil, job.plan == nil else {
            throw StoreFailure(
                kind: .other, location: location, operation: "record job #\(job.id)",
                detail: "a new job came with steps, approvals, followers, a plan or a registry change, which intake never writes")
        }
        job.version += 1
        let (names, values) = columns(job)
        var statement = Statement(bindings: values, count: names.count)
        let jobValues = (1...names.count).map { "$\($0)" } + [statement.bind(job.id), statement.bind(job.version)]
        var parts = ["job_row AS (INSERT INTO job (\(names.joined(separator: ", ")), id, version) VALUES (\(jobValues.joined(separator: ", "))) RETURNING id)"]
        let stamp = Stamp(now)
        if !change.audit.isEmpty {
            let rows = change.audit.map { draft in
                "(\(statement.bind(stamp)), \(statement.bind(job.id)), \(statement.bind(draft.actor)), \(statement.bind(draft.event)), "
                    + "\(statement.bind(draft.detail)))"
            }
            parts.append("audit_rows AS (INSERT INTO auditEntry (at, jobID, actor, event, detail) VALUES \(rows.joined(separator: ", ")))")
        }
        let notices = try Self.firstNotices(change.notices)
        if !notices.isEmpty {
            var rows: [String] = []
            for platform in platforms {
                var waiting = Set<Int64>()
                for notice in notices {
                    // The job is new: its first notice on each platform has the turn (one of no job always has it).
                    let head = notice.jobID.map { waiting.insert($0).inserted } ?? true
                    rows.append(
                        "(\(statement.bind(notice.jobID)), \(statement.bind(platform)), \(statement.bind(notice.place)), "
                            + "\(statement.bind(notice.payload)), NULL, 'pending', \(head ? "TRUE" : "FALSE"), 0, \(statement.bind(stamp)), "
                            + "\(statement.bind(stamp)))")
                }
            }
            parts.append(
                "notice_rows AS (INSERT INTO notice (jobID, platform, place, payload, route, state, head, attempts, notBefore, createdAt) "
                    + "VALUES \(rows.joined(separator: ", ")))")
        }
        parts.append("request_row AS (UPDATE receivedRequest SET jobID = \(statement.bind(job.id)) WHERE key = \(statement.bind(requestKey)))")
        if !references.isEmpty {
            let rows = references.map { reference in
                "(\(statement.bind(job.id)), \(statement.bind(reference.platform)), \(statement.bind(reference.role)), "
                    + "\(statement.bind(reference.channel)), \(statement.bind(reference.ts)), \(statement.bind(reference.url)))"
            }
            parts.append(
                "reference_rows AS (INSERT INTO messageRef (jobID, platform, role, channel, ts, url) VALUES \(rows.joined(separator: ", ")) "
                    + "ON CONFLICT (jobID, platform, role) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, "
                    + "url = COALESCE(excluded.url, messageRef.url))")
        }
        let sql = "WITH " + parts.joined(separator: ",\n") + "\nSELECT id FROM job_row"
        guard try await db.run(PostgresQuery(unsafeSQL: sql, binds: statement.bindings)) == 1 else { throw StoreConflict(jobID: job.id) }
        return asRead(job)
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

    /// Bind parameters numbered as they are added.
    /// `bindings` already holds `count` values, `$1` to `$count`.
    private struct Statement {
        var bindings: PostgresBindings
        var count: Int

        mutating func bind<T: PostgresDynamicTypeEncodable>(_ value: T?) -> String {
            bindings.append(value)
            count += 1
            return "$\(count)"
        }
    }
}
