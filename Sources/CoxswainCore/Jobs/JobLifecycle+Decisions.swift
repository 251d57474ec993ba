import Foundation

/// What came of an approval, a denial, a confirmation, a cancellation or an acknowledgement.
public enum DecisionResult: Sendable, Equatable {
    /// Counted; the job still waits for more.
    case recorded(approvals: Int, required: Int)
    /// The last approval needed: the job is queued to run.
    case approved(approvals: Int)
    case denied
    case confirmed
    case cancelled
    /// A running job will stop before its next step.
    case willStopBetweenSteps
    case acknowledged
}

/// The approval gate, and the decisions people make about a job. Who may decide is
/// checked against the access policy by the caller (`rule` names the rule that allowed
/// it); everything about the job itself is decided here.
extension JobLifecycle {
    public enum GateOutcome: Sendable {
        /// Enough valid approvals of this plan: run on.
        case proceed(JobChange)
        /// Not enough: the job parks and the approvers are asked (again).
        case wait(JobChange)
    }

    /// Right after the plan is confirmed: approvals count only for the plan they were given
    /// for, and only while their giver still holds the approve grant (roles and user groups
    /// as they are now, not when the approval was given).
    public func approvalGate(_ job: Job, stillApproves: (String) -> AccessPolicy.Decision, now: Date) -> GateOutcome {
        guard let plan = job.plan else { return .wait(JobChange(job: job)) }
        var audit: [AuditDraft] = []
        var valid: [String] = []
        for approval in job.currentApprovals where approval.user != job.request.requestedBy {
            let decision = stillApproves(approval.user)
            if decision.isAllowed {
                valid.append(approval.user)
            } else {
                audit.append(
                    AuditDraft(
                        actor: "coxswain", event: "approval.void",
                        detail: "approval by \(approval.user) no longer counts: \(decision.rule)"))
            }
        }
        if valid.count >= job.approvalsRequired {
            audit.append(AuditDraft(actor: "coxswain", event: "approval.verified", detail: "\(plan.shortText) approved by \(valid.joined(separator: ", "))"))
            return .proceed(JobChange(job: job, audit: audit))
        }
        var waiting = job
        waiting.state = .awaitingApproval
        waiting.waitingSince = now
        waiting.approvalRound += 1
        let earlier = job.approvals.last { $0.decision == .approve && $0.plan != plan.json }
        let previousKey = earlier.flatMap { RollbackPlan(json: $0.plan) }?.key
        if let previousKey {
            audit.append(
                AuditDraft(
                    actor: "coxswain", event: "approval.void",
                    detail: "plan changed from \(previousKey) to \(plan.key); earlier approvals no longer count"))
        }
        audit.append(AuditDraft(actor: "coxswain", event: "approval.requested", detail: "\(plan.shortText) needs \(job.approvalsRequired) approval(s)"))
        let summary: [RichText] = [
            "\(strong: "Waiting for approval") (\(job.approvalsRequired) needed): see the approval request. Nothing has been changed yet."
        ]
        let notices = [
            narrator.progress(waiting, summary: summary),
            narrator.approvalRequest(
                waiting, plan: plan, approvers: approvers(job.request.environment),
                voidedPlanKey: previousKey, approvedSoFar: valid),
        ]
        return .wait(JobChange(job: waiting, audit: audit, notices: notices))
    }

    /// One person's approval or denial of the job's current plan. It counts only while the
    /// job waits for approval, never from the requester, only for the plan the person was
    /// shown (`shownPlanKey`, from a button), and once per person and plan.
    public func decide(
        _ job: Job, user: String, approve: Bool, reason: String?, shownPlanKey: String?, rule: String,
        now: Date
    ) -> Result<(JobChange, DecisionResult), JobRefusal> {
        let verb = approve ? "approve" : "deny"
        func refuse(_ text: RichText) -> Result<(JobChange, DecisionResult), JobRefusal> {
            .failure(JobRefusal(text, audit: AuditDraft(actor: user, event: "approval.refused", detail: "\(verb): \(text.plainText) (\(rule))")))
        }
        guard job.state == .awaitingApproval, let plan = job.plan else {
            let what = job.approvalsRequired == 0 && !job.state.isWaiting ? "it does not need approval" : "it is \(job.state.words)"
            return refuse("Job #\(job.id) cannot be \(approve ? "approved" : "denied"): \(what).")
        }
        guard user != job.request.requestedBy else {
            return refuse("You requested job #\(job.id); someone else with the approver role must \(verb) it.")
        }
        if let shownPlanKey, shownPlanKey != plan.key {
            return refuse("This approval request for job #\(job.id) is outdated: the plan changed since it was posted. Use the newest request.")
        }
        if job.approvals.contains(where: { $0.user == user && $0.plan == plan.json }) {
            return refuse("You already decided on job #\(job.id)'s plan; each person counts once.")
        }
        var job = job
        job.approvals.append(Approval(user: user, decision: approve ? .approve : .deny, plan: plan.json, reason: reason, at: now))
        var audit = [AuditDraft(actor: user, event: "approval.\(verb)", detail: "\(plan.shortText) (\(rule))" + (reason.map { ": \($0)" } ?? ""))]
        let approvedBy = job.currentApprovals.map(\.user)
        let when = ClockText.hoursMinutes(now)
        guard approve else {
            job.state = .denied
            job.finishedAt = now
            job.outcome = "denied by \(user)" + (reason.map { ": \($0)" } ?? "")
            audit.append(AuditDraft(actor: user, event: "job.denied", detail: job.outcome ?? ""))
            let because: RichText = reason.map { ": \($0)" } ?? ""
            var notices = [
                narrator.approvalClosed(job, headline: "🚫 \(strong: "Denied") by \(user: user) at \(when)" + because + "."),
                narrator.progress(job, summary: ["\(strong: "Result:") denied by \(user: user)" + because + ". Nothing was changed."]),
            ]
            if let line = narrator.auditLine(job, outcome: job.outcome ?? "denied") { notices.append(line) }
            notices += narrator.tellEveryone(job, narrator.resultReply(job))
            return .success((JobChange(job: job, audit: audit, notices: notices), .denied))
        }
        guard approvedBy.count >= job.approvalsRequired else {
            let notice = narrator.approvalRequest(job, plan: plan, approvers: approvers(job.request.environment), voidedPlanKey: nil, approvedSoFar: approvedBy)
            return .success((JobChange(job: job, audit: audit, notices: [notice]), .recorded(approvals: approvedBy.count, required: job.approvalsRequired)))
        }
        job.state = .queued
        audit.append(AuditDraft(actor: "coxswain", event: "job.approved", detail: "approved by \(approvedBy.joined(separator: ", ")); queued to run"))
        let who = approvedBy.map { RichText("\(user: $0)") }.joined(separator: ", ")
        let notice = narrator.approvalClosed(job, headline: "✅ \(strong: "Approved") by \(who) at \(when). Running now.")
        return .success((JobChange(job: job, audit: audit, notices: [notice]), .approved(approvals: approvedBy.count)))
    }

    /// The requester (or an approver) confirms the new plan of a job whose release changed.
    public func confirm(_ job: Job, user: String, shownPlanKey: String?, rule: String, now: Date) -> Result<(JobChange, DecisionResult), JobRefusal> {
        guard job.state == .awaitingConfirmation, let plan = job.plan else {
            return .failure(JobRefusal("Job #\(job.id) is \(job.state.words); there is nothing to confirm."))
        }
        if let shownPlanKey, shownPlanKey != plan.key {
            return .failure(JobRefusal("This confirmation for job #\(job.id) is outdated: the plan changed again. Use the newest request."))
        }
        var job = job
        job.state = .queued
        // What the requester now agreed to is the new basis: the job does not ask again
        // unless the release moves once more.
        job.basisRevision = plan.from.revision
        let audit = AuditDraft(actor: user, event: "job.confirmed", detail: "new plan \(plan.shortText) confirmed (\(rule))")
        let notice = narrator.approvalClosed(job, headline: "✅ \(strong: "Confirmed") by \(user: user) at \(ClockText.hoursMinutes(now)).")
        return .success((JobChange(job: job, audit: [audit], notices: [notice]), .confirmed))
    }

    /// `cancel`: the requester may cancel any of their own jobs; holders of the cancel or
    /// approve grant in the job's environment may cancel anyone's. A job that has not
    /// started ends at once; a running one stops before its next step.
    public func cancel(_ job: Job, user: String, may: (Permission) -> AccessPolicy.Decision, now: Date) -> Result<(JobChange, DecisionResult), JobRefusal> {
        let rule: String
        if user == job.request.requestedBy {
            rule = "the requester may cancel their own job"
        } else if case .allowed(let granted) = may(.cancel) {
            rule = granted
        } else if case .allowed(let granted) = may(.approve) {
            rule = "approvers may cancel: \(granted)"
        } else {
            let refusal = may(.cancel)
            let text: RichText =
                "Only the requester (\(user: job.request.requestedBy)), or someone with the cancel or approve grant in "
                + "\(code: job.request.environment), may cancel job #\(job.id). " + (refusal.message ?? "")
            return .failure(JobRefusal(text, audit: AuditDraft(actor: user, event: "access.refused", detail: "cancel job #\(job.id): \(refusal.rule)")))
        }
        var job = job
        switch job.state {
        case .queued, .awaitingApproval, .awaitingConfirmation:
            let wasWaiting = job.state.isWaiting
            job.state = .cancelled
            job.finishedAt = now
            job.outcome = "cancelled by \(user) before it started; nothing ran"
            var notices = [narrator.progress(job, summary: ["\(strong: "Result:") cancelled by \(user: user) before it started. Nothing was changed."])]
            if wasWaiting {
                notices.append(narrator.approvalClosed(job, headline: "⏹️ \(strong: "Cancelled") by \(user: user) at \(ClockText.hoursMinutes(now))."))
            }
            if let line = narrator.auditLine(job, outcome: job.outcome ?? "cancelled") { notices.append(line) }
            notices += narrator.tellEveryone(job, narrator.resultReply(job)).filter { $0.place != .person(user) }
            let audit = AuditDraft(actor: user, event: "job.cancelled", detail: "\(job.outcome ?? "") (\(rule))")
            return .success((JobChange(job: job, audit: [audit], notices: notices), .cancelled))
        case .running:
            guard job.cancelRequestedBy == nil else { return .failure(JobRefusal("Job #\(job.id) is already stopping at its next step.")) }
            job.cancelRequestedBy = user
            let audit = AuditDraft(actor: user, event: "job.cancel_requested", detail: "stops before its next step (\(rule))")
            return .success((JobChange(job: job, audit: [audit]), .willStopBetweenSteps))
        default:
            return .failure(JobRefusal("Job #\(job.id) has already ended (\(job.state.words)); there is nothing to cancel."))
        }
    }

    /// An approver acknowledges a break-glass job afterwards.
    public func acknowledge(_ job: Job, user: String, rule: String, now: Date) -> Result<(JobChange, DecisionResult), JobRefusal> {
        guard job.request.emergency else { return .failure(JobRefusal("Job #\(job.id) was not a break-glass job; there is nothing to acknowledge.")) }
        if let by = job.acknowledgedBy { return .failure(JobRefusal("Job #\(job.id) was already acknowledged by \(user: by).")) }
        guard user != job.request.requestedBy else {
            return .failure(JobRefusal("You ran break-glass job #\(job.id); another approver must acknowledge it."))
        }
        var job = job
        job.acknowledgedBy = user
        job.acknowledgedAt = now
        let audit = AuditDraft(actor: user, event: "emergency.acknowledged", detail: "break-glass job acknowledged (\(rule))")
        let text: RichText =
            "✅ Break-glass job #\(job.id) (\(code: job.request.release), \(job.request.environment)) acknowledged by "
            + "\(user: user) at \(ClockText.hoursMinutes(now))."
        let notices = narrator.hasAuditChannel ? [Notice.message(text, jobID: job.id, place: .auditChannel)] : []
        return .success((JobChange(job: job, audit: [audit], notices: notices), .acknowledged))
    }

    // MARK: time

    /// An approval or confirmation request nobody answered within the environment's TTL.
    public func expireIfDue(_ job: Job, now: Date) -> JobChange? {
        let ttl = approvalTTL(job.request.environment)
        guard job.state.isWaiting, let since = job.waitingSince, now.timeIntervalSince(since) >= ttl.seconds else { return nil }
        var job = job
        let what = job.state == .awaitingApproval ? "approval" : "confirmation"
        job.state = .expired
        job.finishedAt = now
        job.outcome = "no \(what) within \(ttl); nothing ran"
        var notices = [
            narrator.approvalClosed(job, headline: "⌛ \(strong: "Expired"): no \(what) within \(ttl); nothing ran."),
            narrator.progress(job, summary: ["\(strong: "Result:") expired without \(what). Nothing was changed."]),
        ]
        if let line = narrator.auditLine(job, outcome: job.outcome ?? "expired") { notices.append(line) }
        notices += narrator.tellEveryone(job, narrator.resultReply(job))
        return JobChange(job: job, audit: [AuditDraft(actor: "coxswain", event: "job.expired", detail: job.outcome ?? "")], notices: notices)
    }

    /// An unacknowledged break-glass job is brought up in the audit channel again.
    public func remindIfDue(_ job: Job, interval: GoDuration, now: Date) -> JobChange? {
        guard job.request.emergency, job.acknowledgedBy == nil,
            now.timeIntervalSince(job.lastReminderAt ?? job.createdAt) >= interval.seconds,
            let notice = narrator.breakGlass(job, approvers: approvers(job.request.environment), reminder: true)
        else { return nil }
        var job = job
        job.lastReminderAt = now
        return JobChange(job: job, audit: [AuditDraft(actor: "coxswain", event: "emergency.reminder", detail: "still not acknowledged")], notices: [notice])
    }
}

public enum ClockText {
    /// "14:05 UTC"
    public static func hoursMinutes(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return String(format: "%02d:%02d UTC", parts.hour ?? 0, parts.minute ?? 0)
    }
}
