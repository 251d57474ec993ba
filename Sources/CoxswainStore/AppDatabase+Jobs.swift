import Foundation
import GRDB
import CoxswainCore

/// An audit entry before it is tied to its job, written with the change it explains.
public struct AuditDraft: Sendable, Equatable {
    public var actor: String
    public var event: String
    public var detail: String
    public init(actor: String, event: String, detail: String) { self.actor = actor; self.event = event; self.detail = detail }
}

public struct EnqueueResult: Sendable {
    public var job: JobRecord
    /// How many jobs for the same release come before this one (0: it runs next).
    public var jobsAhead: Int
    /// The request had been accepted before (a retry by the chat platform).
    public var isDuplicate: Bool
}

extension AppDatabase {
    /// Stores a new job, its audit entries and the request key that makes retries harmless,
    /// in one transaction. A request key seen before returns the job it created.
    /// `messages` gives what to tell the channel about the stored job (it needs the job's id
    /// and place in line), written in the same transaction.
    public func enqueueJob(_ job: JobRecord, requestKey: String, audit: [AuditDraft], now: Date,
                           messages: @escaping @Sendable (JobRecord, Int) -> [OutgoingDraft]) async throws -> EnqueueResult {
        try await writer.write { db in
            if let seen = try Row.fetchOne(db, sql: "SELECT jobID FROM receivedRequest WHERE key = ?", arguments: [requestKey]),
               let jobID: Int64 = seen["jobID"], let existing = try JobRecord.fetchOne(db, key: jobID) {
                return EnqueueResult(job: existing, jobsAhead: try Self.jobsAhead(of: existing, db), isDuplicate: true)
            }
            var job = job
            try job.insert(db)
            try db.execute(sql: "INSERT INTO receivedRequest (key, jobID, receivedAt) VALUES (?, ?, ?)", arguments: [requestKey, job.id, now])
            try Self.insertAudit(audit, jobID: job.id, now: now, db)
            let ahead = try Self.jobsAhead(of: job, db)
            try Self.insertMessages(messages(job, ahead), jobID: job.id, now: now, db)
            return EnqueueResult(job: job, jobsAhead: ahead, isDuplicate: false)
        }
    }

    static func jobsAhead(of job: JobRecord, _ db: Database) throws -> Int {
        guard job.state == .queued, let id = job.id else { return 0 }
        return try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM job WHERE release = ? AND id < ? AND state IN ('queued','running')
            """, arguments: [job.release, id]) ?? 0
    }

    /// Takes the oldest queued job whose release has no running job, marks it running.
    /// One job per release at a time; the caller bounds how many run at once.
    public func claimNextRunnable(now: Date) async throws -> JobRecord? {
        try await writer.write { db in
            guard var job = try JobRecord.fetchOne(db, sql: """
                SELECT * FROM job WHERE state = 'queued'
                AND release NOT IN (SELECT release FROM job WHERE state = 'running')
                ORDER BY id LIMIT 1
                """) else { return nil }
            job.state = .running
            job.startedAt = job.startedAt ?? now
            try job.update(db)
            // A job that waited for approval runs again from the top: the plan is read anew
            // and must still be the approved one.
            try db.execute(sql: "DELETE FROM jobStep WHERE jobID = ?", arguments: [job.id])
            try Self.insertAudit([AuditDraft(actor: "coxswain", event: "job.started", detail: "worker started \(job.command) \(job.release)")], jobID: job.id, now: now, db)
            return job
        }
    }

    public func startStep(jobID: Int64, position: Int, action: String, title: String, now: Date, messages: [OutgoingDraft]) async throws -> JobStepRecord {
        try await writer.write { db in
            var step = JobStepRecord(id: nil, jobID: jobID, position: position, action: action, title: title,
                                     status: .running, note: nil, detail: nil, startedAt: now, finishedAt: nil)
            try step.insert(db)
            try Self.insertMessages(messages, jobID: jobID, now: now, db)
            return step
        }
    }

    /// Records how a step ended, the plan it decided (if any), what to tell the channel and
    /// the audit entries, together.
    public func recordStepResult(_ step: JobStepRecord, status: StepStatus, note: String?, detail: String?, plan: RollbackPlan? = nil,
                                 now: Date, messages: [OutgoingDraft], audit: [AuditDraft]) async throws -> JobStepRecord {
        let planJSON = plan?.json
        return try await writer.write { db in
            if let planJSON {
                try db.execute(sql: "UPDATE job SET planJSON = ? WHERE id = ?", arguments: [planJSON, step.jobID])
            }
            var step = step
            step.status = status; step.note = note; step.detail = detail; step.finishedAt = now
            try step.update(db)
            if status == .succeeded {
                try db.execute(sql: "UPDATE job SET lastCompletedStep = ? WHERE id = ?", arguments: [step.title, step.jobID])
            }
            try Self.insertMessages(messages, jobID: step.jobID, now: now, db)
            try Self.insertAudit(audit, jobID: step.jobID, now: now, db)
            return step
        }
    }

    public func finishJob(jobID: Int64, state: JobState, outcome: String, now: Date, messages: [OutgoingDraft], audit: [AuditDraft]) async throws {
        precondition(state.isFinished, "finishJob needs a final state")
        try await writer.write { db in
            try db.execute(sql: "UPDATE job SET state = ?, outcome = ?, finishedAt = ? WHERE id = ?",
                           arguments: [state.rawValue, outcome, now, jobID])
            try Self.insertMessages(messages, jobID: jobID, now: now, db)
            try Self.insertAudit(audit, jobID: jobID, now: now, db)
        }
    }

    /// Marks every job left `running` by a crash or restart as interrupted. `describe` gives
    /// the messages that tell the channel, written in the same transaction.
    public func interruptRunningJobs(now: Date, describe: @Sendable (JobRecord, [JobStepRecord]) -> [OutgoingDraft]) async throws -> [JobRecord] {
        try await writer.write { db in
            let running = try JobRecord.filter(JobRecord.Columns.state == JobState.running.rawValue).fetchAll(db)
            var interrupted: [JobRecord] = []
            for var job in running {
                let steps = try JobStepRecord.filter(Column("jobID") == job.id).order(Column("position")).fetchAll(db)
                for var step in steps where step.status == .running {
                    step.status = .failed; step.note = "interrupted"; step.finishedAt = now
                    try step.update(db)
                }
                job.state = .interrupted
                job.finishedAt = now
                job.outcome = "interrupted by a restart after step: \(job.lastCompletedStep ?? "none")"
                try job.update(db)
                let finalSteps = try JobStepRecord.filter(Column("jobID") == job.id).order(Column("position")).fetchAll(db)
                try Self.insertMessages(describe(job, finalSteps), jobID: job.id, now: now, db)
                try Self.insertAudit([AuditDraft(actor: "coxswain", event: "job.interrupted",
                                                 detail: "found running at start-up; last completed step: \(job.lastCompletedStep ?? "none"); release left as it was")],
                                     jobID: job.id, now: now, db)
                interrupted.append(job)
            }
            return interrupted
        }
    }

    // MARK: reads

    public func job(id: Int64) async throws -> JobRecord? {
        try await writer.read { db in try JobRecord.fetchOne(db, key: id) }
    }

    public func steps(jobID: Int64) async throws -> [JobStepRecord] {
        try await writer.read { db in try JobStepRecord.filter(Column("jobID") == jobID).order(Column("position")).fetchAll(db) }
    }

    public func recentJobs(limit: Int) async throws -> [JobRecord] {
        try await writer.read { db in try JobRecord.order(JobRecord.Columns.id.desc).limit(limit).fetchAll(db) }
    }

    public func recentJobs(release: String, limit: Int) async throws -> [JobRecord] {
        try await writer.read { db in
            try JobRecord.filter(JobRecord.Columns.release == release).order(JobRecord.Columns.id.desc).limit(limit).fetchAll(db)
        }
    }

    /// Whether a Coxswain `/upgrade` to `version` finished validated for `release`.
    public func hasValidatedUpgrade(release: String, version: String) async throws -> JobRecord? {
        try await writer.read { db in
            try JobRecord.fetchOne(db, sql: """
                SELECT * FROM job WHERE release = ? AND command = '/upgrade' AND state = 'succeeded' AND requestedVersion IS NOT NULL
                AND json_extract(planJSON, '$.targetVersion') = ? ORDER BY id DESC LIMIT 1
                """, arguments: [release, version])
        }
    }

    /// For each revision a Coxswain job created (its helm rollback ran), that job.
    public func jobsByCreatedRevision(release: String) async throws -> [Int: JobRecord] {
        try await writer.read { db in
            let jobs = try JobRecord.fetchAll(db, sql: """
                SELECT job.* FROM job WHERE release = ? AND planJSON IS NOT NULL AND EXISTS (
                    SELECT 1 FROM jobStep WHERE jobStep.jobID = job.id AND jobStep.action IN ('helm.rollback', 'helm.upgrade')
                    AND jobStep.status IN ('succeeded', 'failed'))
                """, arguments: [release])
            var byRevision: [Int: JobRecord] = [:]
            for job in jobs { if let plan = job.plan { byRevision[plan.from.revision + 1] = job } }
            return byRevision
        }
    }

    // MARK: shared pieces of a transaction

    static func insertAudit(_ drafts: [AuditDraft], jobID: Int64?, now: Date, _ db: Database) throws {
        for draft in drafts {
            var entry = AuditEntry(at: now, jobID: jobID, actor: draft.actor, event: draft.event, detail: draft.detail)
            try entry.insert(db)
        }
    }

    static func insertMessages(_ drafts: [OutgoingDraft], jobID: Int64?, now: Date, _ db: Database) throws {
        for draft in drafts {
            var message = OutgoingMessage(id: nil, jobID: jobID, kind: draft.kind, channel: draft.channel,
                                          responseURL: draft.responseURL, text: draft.text, blocksJSON: draft.blocksJSON,
                                          state: .pending, attempts: 0, notBefore: now, lastError: nil,
                                          createdAt: now, deliveredAt: nil)
            try message.insert(db)
        }
    }
}
