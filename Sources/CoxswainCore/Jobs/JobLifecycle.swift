import Foundation

/// Every transition of a job, decided in one place: given the job, what happened, the
/// rules and the time, it returns the job as it now is, the audit entries and the notices.
/// It touches nothing; the store commits a `JobChange` in one transaction, and refuses it
/// when someone else changed the job meanwhile (the caller then reloads and asks again).
public struct JobLifecycle: Sendable {
    public let narrator: JobNarrator
    let approvers: @Sendable (String) -> Approvers
    let approvalTTL: @Sendable (String) -> GoDuration

    public init(
        narrator: JobNarrator, approvers: @escaping @Sendable (String) -> Approvers,
        approvalTTL: @escaping @Sendable (String) -> GoDuration
    ) {
        self.narrator = narrator; self.approvers = approvers; self.approvalTTL = approvalTTL
    }

    // MARK: intake

    /// A job just stored for an accepted request. `asked` is the request as typed, for the
    /// audit trail; `rule` is the access rule that allowed it.
    /// Jobs ahead in line are counted up to this many (beyond, "more than"), so taking a
    /// request costs the same however long the line is.
    public static let countedAhead = 100

    public func accepted(_ job: Job, asked: String, permission: Permission, rule: String, jobsAhead: Int) -> JobChange {
        let request = job.request
        var audit = [
            AuditDraft(
                actor: request.requestedBy, event: "job.requested", detail: "\(request.command) \(asked) in \(request.channel.ifEmpty(request.platform))"),
            AuditDraft(actor: "coxswain", event: "access.allowed", detail: "\(permission.rawValue): \(rule)"),
        ]
        if request.emergency {
            audit.append(AuditDraft(actor: request.requestedBy, event: "emergency.invoked", detail: "break-glass without approval: \(request.reason ?? "")"))
        }
        if request.overridePromotion {
            audit.append(
                AuditDraft(
                    actor: request.requestedBy, event: "promotion.override",
                    detail: "approver overrides the promotion gate: \(request.reason ?? "")"))
        }
        var notices = [narrator.progress(job, summary: [narrator.queueLine(job, jobsAhead: jobsAhead)])]
        if request.emergency, let notice = narrator.breakGlass(job, approvers: approvers(request.environment), reminder: false) {
            notices.append(notice)
        }
        return JobChange(job: job, audit: audit, notices: notices)
    }

    /// An open rollback of the same release that already does what was asked: a new request
    /// follows it instead of rolling back a second time (which would go "back" to the bad
    /// version). `JoinFilter` states the rule; the store looks it up by index.
    public static func joinable(_ request: JobRequest, open: [Job]) -> Job? {
        guard let filter = JoinFilter(request) else { return nil }
        return open.filter { !$0.state.isFinished }.first(where: filter.matches)
    }

    /// Someone asked for what an open job already does: they follow it instead.
    public func joined(_ job: Job, follower: String, asked: String) -> JobChange {
        var job = job
        if !job.audience.contains(follower) { job.followers.append(follower) }
        let audit = AuditDraft(actor: follower, event: "job.joined", detail: "\(job.request.command) \(asked): joined job #\(job.id) (\(job.state.words))")
        return JobChange(job: job, audit: [audit])
    }

    /// The release's revision right after the request was accepted: what the requester saw.
    public func basisRead(_ job: Job, revision: Int) -> JobChange? {
        guard job.state == .queued, job.basisRevision == nil else { return nil }
        var job = job
        job.basisRevision = revision
        return JobChange(job: job, audit: [AuditDraft(actor: "coxswain", event: "job.basis", detail: "release at revision \(revision) when requested")])
    }

    // MARK: the worker

    public func claimed(_ job: Job, by runner: RunnerIdentity, until expiry: Date, now: Date) -> JobChange {
        var job = job
        job.state = .running
        job.startedAt = job.startedAt ?? now
        job.runnerID = runner.id
        job.claim = RunnerClaim(generation: (job.claim?.generation ?? 0) + 1, runner: runner, renewedAt: now, expiresAt: expiry)
        job.handover = nil
        // A job that waited for approval runs from the top again: the plan is read anew
        // and must still be the approved one.
        job.steps = []
        return JobChange(
            job: job, audit: [AuditDraft(actor: "coxswain", event: "job.started", detail: "worker started \(job.request.command) \(job.request.release)")])
    }

    public func stepStarted(_ job: Job, position: Int, step: RunbookStep, now: Date) -> JobChange {
        var job = job
        job.steps.removeAll { $0.position >= position }
        job.steps.append(JobStep(position: position, action: step.action.rawValue, title: step.title, status: .running, startedAt: now))
        return JobChange(job: job, notices: [narrator.progress(job)])
    }

    /// A running step's line says how its wait is going (pods loading, an image that will not pull).
    /// Not audited: the step's result says how it ended.
    public func stepProgress(_ job: Job, position: Int, note: String) -> JobChange? {
        var job = job
        guard job.state == .running, let index = job.steps.firstIndex(where: { $0.position == position && $0.status == .running }),
            job.steps[index].note != note
        else { return nil }
        job.steps[index].note = note
        return JobChange(job: job, notices: [narrator.progress(job)])
    }

    /// A step ended: its result, the plan it decided, the details for the thread, the note
    /// for the requester and the registry change, together.
    public func stepFinished(_ job: Job, position: Int, result: StepResult, plan: RollbackPlan?, now: Date) -> JobChange {
        var job = job
        guard let index = job.steps.firstIndex(where: { $0.position == position }) else { return JobChange(job: job) }
        let step = job.steps[index]
        job.steps[index].status = result.status
        job.steps[index].note = result.note
        job.steps[index].detail = result.details.map { "\($0.title)\n\($0.body)" }.joined(separator: "\n\n")
        job.steps[index].finishedAt = now
        if result.status == .succeeded { job.lastCompletedStep = step.title }
        var audit = [AuditDraft(actor: "coxswain", event: "step.\(step.action).\(result.status.rawValue)", detail: result.auditDetail)] + result.events
        if let plan, job.plan != plan {
            let decided = job.plan.map { $0.asDecided != plan.asDecided } ?? true
            job.plan = plan
            // The first plan shows what the release was at when the job got to it.
            if job.basisRevision == nil, job.request.kind == .rollback { job.basisRevision = plan.from.revision }
            // The capacity and GitOps checks add to the plan; their steps' own entries record it.
            if decided {
                audit.append(
                    AuditDraft(
                        actor: "coxswain", event: "plan.decided",
                        detail: "\(job.request.release): \(plan.shortText) (from \(plan.from.summary) to \(plan.to.summary))"))
            }
        }
        // A registry change is audited by the store, which knows the status before it.
        var notices = [narrator.progress(job)]
        notices += result.details.map { narrator.detail(job, title: "\(step.title): \($0.title)", body: $0.body) }
        if let note = result.requesterNote { notices.append(narrator.reply(job, to: job.request.requestedBy, note)) }
        return JobChange(job: job, audit: audit, notices: notices, registry: result.registry)
    }

    /// The job ended while running: succeeded, failed or cancelled between steps.
    public func finished(_ job: Job, state: JobState, outcome: String, summary: [RichText], extra: [Notice] = [], now: Date) -> JobChange {
        var job = job
        job.state = state
        job.outcome = outcome
        job.finishedAt = now
        var notices = [narrator.progress(job, summary: summary)] + extra
        if let line = narrator.auditLine(job, outcome: outcome) { notices.append(line) }
        notices += narrator.tellEveryone(job, narrator.resultReply(job))
        return JobChange(job: job, audit: [AuditDraft(actor: "coxswain", event: "job.\(state.rawValue)", detail: outcome)], notices: notices)
    }

    /// Nothing left to do: another job already moved the release away from what the
    /// requester saw.
    public func alreadyDone(_ job: Job, by other: Int64, current: HelmRevision, now: Date) -> JobChange {
        var job = job
        job.state = .superseded
        job.finishedAt = now
        job.outcome = "already done by job #\(other) (now revision \(current.revision), chart \(current.chart))"
        let summary: [RichText] = [
            "\(strong: "Result:") already done by job #\(other): \(code: job.request.release) is now at revision "
                + "\(current.revision) (\(current.chart), app \(current.appVersion)). Nothing was changed."
        ]
        var notices = [narrator.progress(job, summary: summary)]
        if let line = narrator.auditLine(job, outcome: job.outcome ?? "") { notices.append(line) }
        notices += narrator.tellEveryone(job, narrator.resultReply(job))
        return JobChange(job: job, audit: [AuditDraft(actor: "coxswain", event: "job.superseded", detail: job.outcome ?? "")], notices: notices)
    }

    /// The release changed since the request, and not by Coxswain: park until the
    /// requester confirms the new plan.
    public func awaitConfirmation(_ job: Job, plan: RollbackPlan, why: String, now: Date) -> JobChange {
        var job = job
        job.state = .awaitingConfirmation
        job.waitingSince = now
        job.plan = plan
        job.approvalRound += 1  // a message of its own: the requester is notified
        let summary: [RichText] = ["\(strong: "Waiting for confirmation:") \(why) Nothing has been changed."]
        let notices = [narrator.progress(job, summary: summary), narrator.confirmationRequest(job, plan: plan, why: why)]
        return JobChange(
            job: job, audit: [AuditDraft(actor: "coxswain", event: "confirmation.requested", detail: "\(why) New plan: \(plan.shortText)")],
            notices: notices)
    }

    /// A restart, a shutdown or an internal error stopped the job; the release is left as it
    /// was. `why` completes "interrupted …": "by a restart", "by a shutdown".
    public func interrupted(_ job: Job, why: String, now: Date) -> JobChange {
        var job = job
        for index in job.steps.indices where job.steps[index].status == .running {
            job.steps[index].status = .failed
            job.steps[index].note = "interrupted"
            job.steps[index].finishedAt = now
        }
        job.state = .interrupted
        job.finishedAt = now
        job.outcome = "interrupted \(why) after step: \(job.lastCompletedStep ?? "none")"
        var notices = [narrator.progress(job, summary: narrator.interruptionSummary(job, why: why))]
        if let line = narrator.auditLine(job, outcome: "interrupted after step: \(job.lastCompletedStep ?? "none")") { notices.append(line) }
        notices += narrator.tellEveryone(job, narrator.resultReply(job))
        let audit = AuditDraft(
            actor: "coxswain", event: "job.interrupted",
            detail: "interrupted \(why); last completed step: \(job.lastCompletedStep ?? "none"); release left as it was")
        return JobChange(job: job, audit: [audit], notices: notices)
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
