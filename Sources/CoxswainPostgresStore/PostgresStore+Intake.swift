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
        /// The front ends its notices are copied for.
        var platforms: [String]
        /// When its notices fall due on a platform that holds new posts back (`NoticePlatforms`); `now` elsewhere.
        var postsDue: [String: Date] = [:]
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

    /// Writes `jobs` in one statement (committed with the transaction it runs in, by itself
    /// outside one), each with its request key, audit entries, first notices and message
    /// references. A job whose request key another transaction holds is left out whole.
    /// Returns the jobs written, as a read gives them.
    static func insertAccepted(_ jobs: [NewJob], location: String, _ db: PostgresConnection) async throws -> [Job] {
        guard !jobs.isEmpty else { return [] }
        var statement = WriteNewJobs()
        var written: [Job] = []
        for new in jobs {
            try refuseMoreThanIntake(new.change, location: location)
            var job = new.change.job
            job.version += 1
            try statement.add(job, new)
            written.append(asRead(job))
        }
        let inserted = Set(try await db.rows(statement))
        return written.filter { inserted.contains($0.id) }
    }

    /// A new job's notices as `insertNotices` would leave them: a replaceable place written
    /// twice keeps its first turn and its last content.
    static func firstNotices(_ notices: [Notice]) throws -> [(jobID: Int64?, place: String, payload: String)] {
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
