import Foundation
import GRDB
import CoxswainCore

/// What came of an approval, a denial, a cancellation or an acknowledgement.
public enum DecisionResult: Sendable, Equatable {
    /// Counted; the job still waits for more.
    case recorded(approvals: Int, required: Int)
    /// The last approval needed: the job is queued to run.
    case approved(approvals: Int)
    case denied
    case cancelled
    /// A running job will stop before its next step.
    case willStopBetweenSteps
    case acknowledged
    /// Nothing changed; the text says why, for the person who asked.
    case refused(String)
}

extension AppDatabase {
    /// Parks a planned job until its approvals arrive. When the plan differs from the one
    /// earlier approvals were given for, those approvals no longer count (they are bound to
    /// their plan) and the audit trail says so.
    public func awaitApproval(jobID: Int64, now: Date, messages: [OutgoingDraft], audit: [AuditDraft]) async throws {
        try await writer.write { db in
            try db.execute(sql: """
                UPDATE job SET state = 'awaiting_approval', approvalRequestedAt = ?, approvalMessageTS = NULL WHERE id = ? AND state = 'running'
                """, arguments: [now, jobID])
            try Self.insertMessages(messages, jobID: jobID, now: now, db)
            try Self.insertAudit(audit, jobID: jobID, now: now, db)
        }
    }

    /// Every decision on the job, for any plan, oldest first.
    public func allApprovals(jobID: Int64) async throws -> [ApprovalRecord] {
        try await writer.read { db in try ApprovalRecord.filter(Column("jobID") == jobID).order(Column("id")).fetchAll(db) }
    }

    /// Approvals of the job's current plan.
    public func approvals(jobID: Int64, planJSON: String) async throws -> [ApprovalRecord] {
        try await writer.read { db in
            try ApprovalRecord.filter(Column("jobID") == jobID && Column("planJSON") == planJSON && Column("decision") == "approve")
                .order(Column("id")).fetchAll(db)
        }
    }

    /// Records one person's approval or denial of the job's current plan. Everything that
    /// makes an approval count is checked here, inside the transaction: the job is waiting
    /// for approval, the approver is not the requester, the approver saw the current plan
    /// (`shownPlanKey`, when the decision came from a button), and counts once.
    /// `canApprove` is the role check, already decided by the caller, and audited here.
    public func recordDecision(jobID: Int64, user: String, decision: ApprovalRecord.Decision, reason: String?, shownPlanKey: String?,
                               rule: String, now: Date,
                               messages: @escaping @Sendable (JobRecord, DecisionResult, [String]) -> [OutgoingDraft]) async throws -> DecisionResult {
        try await writer.write { db in
            func refuse(_ text: String) throws -> DecisionResult {
                try Self.insertAudit([AuditDraft(actor: user, event: "approval.refused", detail: "\(decision.rawValue): \(text) (\(rule))")], jobID: jobID, now: now, db)
                return .refused(text)
            }
            guard var job = try JobRecord.fetchOne(db, key: jobID) else { return .refused("There is no job #\(jobID).") }
            guard job.state == .awaitingApproval, let plan = job.planJSON else {
                let what = job.approvalsRequired == 0 && job.state != .expired ? "it does not need approval" : "it is \(job.state.rawValue.replacingOccurrences(of: "_", with: " "))"
                return try refuse("Job #\(jobID) cannot be \(decision == .approve ? "approved" : "denied"): \(what).")
            }
            guard user != job.requestedBy else {
                return try refuse("You requested job #\(jobID); someone else with the approver role must \(decision == .approve ? "approve" : "deny") it.")
            }
            if let shown = shownPlanKey, shown != job.plan?.key {
                return try refuse("This approval request for job #\(jobID) is outdated: the plan changed since it was posted. Use the newest request.")
            }
            if try ApprovalRecord.filter(Column("jobID") == jobID && Column("user") == user && Column("planJSON") == plan).fetchCount(db) > 0 {
                return try refuse("You already decided on job #\(jobID)'s plan; each person counts once.")
            }
            var record = ApprovalRecord(id: nil, jobID: jobID, user: user, decision: decision, planJSON: plan, reason: reason, at: now)
            try record.insert(db)
            var audit = [AuditDraft(actor: user, event: "approval.\(decision.rawValue)", detail: "\(job.plan?.shortText ?? "") (\(rule))\(reason.map { ": \($0)" } ?? "")")]
            let approvers = try String.fetchAll(db, sql: "SELECT user FROM approval WHERE jobID = ? AND planJSON = ? AND decision = 'approve' ORDER BY id",
                                                arguments: [jobID, plan])
            let result: DecisionResult
            switch decision {
            case .deny:
                job.state = .denied
                job.finishedAt = now
                job.outcome = "denied by \(user)\(reason.map { ": \($0)" } ?? "")"
                audit.append(AuditDraft(actor: user, event: "job.denied", detail: job.outcome ?? ""))
                result = .denied
            case .approve where approvers.count >= job.approvalsRequired:
                job.state = .queued
                audit.append(AuditDraft(actor: "coxswain", event: "job.approved", detail: "approved by \(approvers.joined(separator: ", ")); queued to run"))
                result = .approved(approvals: approvers.count)
            case .approve:
                result = .recorded(approvals: approvers.count, required: job.approvalsRequired)
            }
            try job.update(db)
            try Self.insertAudit(audit, jobID: jobID, now: now, db)
            try Self.insertMessages(messages(job, result, approvers), jobID: jobID, now: now, db)
            return result
        }
    }

    /// Expires approval requests older than their environment's TTL.
    public func expireApprovalRequests(now: Date, ttl: @Sendable (String) -> TimeInterval,
                                       messages: @escaping @Sendable (JobRecord, [JobStepRecord]) -> [OutgoingDraft]) async throws -> [JobRecord] {
        // Most of the time nothing waits for approval: look before taking the write lock.
        let waiting = try await writer.read { db in
            try JobRecord.filter(JobRecord.Columns.state == JobState.awaitingApproval.rawValue).fetchAll(db)
        }
        guard waiting.contains(where: { job in job.approvalRequestedAt.map { now.timeIntervalSince($0) >= ttl(job.environment) } ?? false }) else { return [] }
        return try await writer.write { db in
            var expired: [JobRecord] = []
            for var job in try JobRecord.filter(JobRecord.Columns.state == JobState.awaitingApproval.rawValue).fetchAll(db) {
                guard let since = job.approvalRequestedAt, now.timeIntervalSince(since) >= ttl(job.environment) else { continue }
                job.state = .expired
                job.finishedAt = now
                job.outcome = "no approval within \(Int(ttl(job.environment) / 60)) min; nothing ran"
                try job.update(db)
                try Self.insertAudit([AuditDraft(actor: "coxswain", event: "job.expired", detail: job.outcome ?? "")], jobID: job.id, now: now, db)
                let steps = try JobStepRecord.filter(Column("jobID") == job.id).order(Column("position")).fetchAll(db)
                try Self.insertMessages(messages(job, steps), jobID: job.id, now: now, db)
                expired.append(job)
            }
            return expired
        }
    }

    /// `/cancel`: a job that has not started ends at once; a running one is flagged and the
    /// worker stops it before its next step (never in the middle of a helm call).
    public func requestCancel(jobID: Int64, user: String, rule: String, now: Date,
                              messages: @escaping @Sendable (JobRecord) -> [OutgoingDraft]) async throws -> DecisionResult {
        try await writer.write { db in
            guard var job = try JobRecord.fetchOne(db, key: jobID) else { return .refused("There is no job #\(jobID).") }
            switch job.state {
            case .queued, .awaitingApproval:
                job.state = .cancelled
                job.finishedAt = now
                job.outcome = "cancelled by \(user) before it started; nothing ran"
                try job.update(db)
                try Self.insertAudit([AuditDraft(actor: user, event: "job.cancelled", detail: "\(job.outcome ?? "") (\(rule))")], jobID: jobID, now: now, db)
                try Self.insertMessages(messages(job), jobID: jobID, now: now, db)
                return .cancelled
            case .running:
                guard job.cancelRequestedBy == nil else { return .refused("Job #\(jobID) is already stopping at its next step.") }
                job.cancelRequestedBy = user
                try job.update(db)
                try Self.insertAudit([AuditDraft(actor: user, event: "job.cancel_requested", detail: "stops before its next step (\(rule))")], jobID: jobID, now: now, db)
                return .willStopBetweenSteps
            default:
                return .refused("Job #\(jobID) has already ended (\(job.state.rawValue)); there is nothing to cancel.")
            }
        }
    }

    /// An approver acknowledges a break-glass job afterwards.
    public func acknowledge(jobID: Int64, user: String, rule: String, now: Date,
                            messages: @escaping @Sendable (JobRecord) -> [OutgoingDraft]) async throws -> DecisionResult {
        try await writer.write { db in
            guard var job = try JobRecord.fetchOne(db, key: jobID) else { return .refused("There is no job #\(jobID).") }
            guard job.emergency else { return .refused("Job #\(jobID) was not a break-glass job; there is nothing to acknowledge.") }
            if let by = job.acknowledgedBy { return .refused("Job #\(jobID) was already acknowledged by <@\(by)>.") }
            guard user != job.requestedBy else { return .refused("You ran break-glass job #\(jobID); another approver must acknowledge it.") }
            job.acknowledgedBy = user
            job.acknowledgedAt = now
            try job.update(db)
            try Self.insertAudit([AuditDraft(actor: user, event: "emergency.acknowledged", detail: "break-glass job acknowledged (\(rule))")], jobID: jobID, now: now, db)
            try Self.insertMessages(messages(job), jobID: jobID, now: now, db)
            return .acknowledged
        }
    }

    /// Break-glass jobs nobody has acknowledged, oldest first.
    public func unacknowledgedEmergencies() async throws -> [JobRecord] {
        try await writer.read { db in
            try JobRecord.filter(Column("emergency") == true && Column("acknowledgedBy") == nil).order(JobRecord.Columns.id).fetchAll(db)
        }
    }

    /// Marks the reminder for each due job sent, writing the reminder in the same transaction.
    public func sendDueReminders(now: Date, interval: TimeInterval, messages: @escaping @Sendable (JobRecord) -> [OutgoingDraft]) async throws -> Int {
        let due = try await unacknowledgedEmergencies().contains { now.timeIntervalSince($0.lastReminderAt ?? $0.createdAt) >= interval }
        guard due else { return 0 }
        return try await writer.write { db in
            var sent = 0
            for var job in try JobRecord.filter(Column("emergency") == true && Column("acknowledgedBy") == nil).fetchAll(db) {
                let last = job.lastReminderAt ?? job.createdAt
                guard now.timeIntervalSince(last) >= interval else { continue }
                job.lastReminderAt = now
                try job.update(db)
                try Self.insertMessages(messages(job), jobID: job.id, now: now, db)
                try Self.insertAudit([AuditDraft(actor: "coxswain", event: "emergency.reminder", detail: "still not acknowledged")], jobID: job.id, now: now, db)
                sent += 1
            }
            return sent
        }
    }
}
