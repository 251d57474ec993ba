import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainCluster
import Logging

/// Runs one `/rollback` job through its runbook, the automated procedure of the seed's
/// rollback workflow. After every step the result, the live-message update, the thread
/// details and the audit entry are written in one transaction before anything else runs.
struct JobRunner: Sendable {
    let dependencies: ServerDependencies
    let reporter: JobReporter
    let actions: RunbookActions
    let approvalMessages: ApprovalMessages

    init(dependencies: ServerDependencies) {
        self.dependencies = dependencies
        self.reporter = JobReporter(dependencies: dependencies)
        self.actions = RunbookActions(dependencies: dependencies)
        self.approvalMessages = ApprovalMessages(policy: AccessPolicy(configuration: dependencies.configuration),
                                                 environments: dependencies.configuration.environments)
    }

    private var database: AppDatabase { dependencies.database }
    private var now: Date { dependencies.now() }

    func run(_ job: JobRecord) async {
        do {
            try await execute(job)
        } catch {
            // A store failure mid-job: say what we can; the restart path covers the rest.
            dependencies.logger.error("job \(job.id ?? 0) stopped by an internal error: \(error)")
            try? await database.finishJob(jobID: job.id!, state: .failed, outcome: "internal error: \(error)", now: now,
                                          messages: [], audit: [AuditDraft(actor: "coxswain", event: "job.failed", detail: "internal error: \(error)")])
        }
    }

    private func execute(_ initial: JobRecord) async throws {
        guard let jobID = initial.id, let release = dependencies.configuration.release(named: initial.release) else {
            try await database.finishJob(jobID: initial.id!, state: .failed, outcome: "release no longer configured", now: now,
                                         messages: [], audit: [AuditDraft(actor: "coxswain", event: "job.failed", detail: "release \(initial.release) is no longer in the configuration")])
            return
        }
        let clock = ContinuousClock()
        let started = clock.now
        var job = initial
        var steps: [JobStepRecord] = []
        var state = RunState()

        for (position, step) in dependencies.runbook(for: initial.command).steps.enumerated() {
            // A cancellation takes effect between steps, never inside a helm call.
            if position > 0, let by = try await database.job(id: jobID)?.cancelRequestedBy {
                let total = (clock.now - started).milliseconds
                try await finish(job: job, steps: steps, state: .cancelled, outcome: "cancelled by \(by) after step: \(steps.last?.title ?? "none")",
                                 summary: cancelSummary(by: by, release: release, steps: steps, state: state, totalMilliseconds: total))
                return
            }
            let provisional = JobStepRecord(id: nil, jobID: jobID, position: position, action: step.action.rawValue, title: step.title,
                                            status: .running, note: nil, detail: nil, startedAt: now, finishedAt: nil)
            var record = try await database.startStep(jobID: jobID, position: position, action: step.action.rawValue, title: step.title, now: now,
                                                      messages: [reporter.liveUpdate(job: job, steps: steps + [provisional])])
            steps.append(record)

            let outcome = await actions.perform(step, job: job, release: release, state: &state)
            var audit = [AuditDraft(actor: "coxswain", event: "step.\(step.action.rawValue).\(outcome.status.rawValue)", detail: outcome.auditDetail)]
            var newPlan: RollbackPlan?
            if let plan = state.plan, job.plan != plan {
                newPlan = plan
                job.planJSON = plan.json
                audit.append(AuditDraft(actor: "coxswain", event: "plan.decided", detail: "\(release.name): \(plan.shortText) (from \(plan.from.summary) to \(plan.to.summary))"))
            }

            var messages = [OutgoingDraft]()
            let finishedAt = now
            var finished = record
            finished.status = outcome.status; finished.note = outcome.note; finished.finishedAt = finishedAt
            steps[steps.count - 1] = finished
            messages.append(reporter.liveUpdate(job: job, steps: steps))
            for detail in outcome.details { messages.append(reporter.threadDetail(job: job, title: "\(step.title): \(detail.title)", body: detail.body)) }
            if let text = outcome.ephemeral, let note = reporter.ephemeral(job: job, text: text) { messages.append(note) }
            record = try await database.recordStepResult(
                record, status: outcome.status, note: outcome.note, detail: outcome.details.map { "\($0.title)\n\($0.body)" }.joined(separator: "\n\n"),
                plan: newPlan, now: finishedAt, messages: messages, audit: audit)
            steps[steps.count - 1] = record

            if step.action == .confirm, outcome.status == .succeeded, job.approvalsRequired > 0, let plan = state.plan,
               try await needsApproval(job: job, plan: plan, steps: steps) {
                return
            }

            if outcome.status == .failed {
                let total = (clock.now - started).milliseconds
                var extra: [OutgoingDraft] = []
                if state.upgradeStarted, let target = state.lastGoodRevision { extra.append(reporter.rollbackOffer(job: job, target: target)) }
                try await finish(job: job, steps: steps, state: .failed, outcome: "failed at \(step.title): \(outcome.failure?.what ?? "")",
                                 summary: failureSummary(step: step, outcome: outcome, release: release, state: state, totalMilliseconds: total),
                                 extra: extra)
                return
            }
        }
        let total = (clock.now - started).milliseconds
        try await finish(job: job, steps: steps, state: .succeeded, outcome: "succeeded: \(state.plan?.shortText ?? "")",
                         summary: successSummary(release: release, state: state, totalMilliseconds: total))
    }

    /// The approval gate, right after the plan is confirmed: approvals count only for the
    /// plan they were given for. Without enough of them the job parks (freeing its worker)
    /// and the channel gets the approval request; an approved job runs from the top again,
    /// so a release that changed meanwhile is noticed here.
    private func needsApproval(job: JobRecord, plan: RollbackPlan, steps: [JobStepRecord]) async throws -> Bool {
        guard let jobID = job.id, let planJSON = job.planJSON else { return true }
        let approvals = try await database.approvals(jobID: jobID, planJSON: planJSON)
        if approvals.count >= job.approvalsRequired {
            try await database.appendAudit(AuditDraft(actor: "coxswain", event: "approval.verified",
                                                      detail: "\(plan.shortText) approved by \(approvals.map(\.user).joined(separator: ", "))"), jobID: jobID, now: now)
            return false
        }
        let earlier = try await database.allApprovals(jobID: jobID).filter { $0.decision == .approve && $0.planJSON != planJSON }
        let previousKey = earlier.last.flatMap { try? JSONDecoder().decode(RollbackPlan.self, from: Data($0.planJSON.utf8)) }?.key
        var waiting = job
        waiting.state = .awaitingApproval
        var audit = [AuditDraft(actor: "coxswain", event: "approval.requested", detail: "\(plan.shortText) needs \(job.approvalsRequired) approval(s)")]
        if let previousKey {
            audit.insert(AuditDraft(actor: "coxswain", event: "approval.void", detail: "plan changed from \(previousKey) to \(plan.key); earlier approvals no longer count"), at: 0)
        }
        let summary = ["*Waiting for approval* (\(job.approvalsRequired) needed): see the approval request below. Nothing has been changed yet."]
        try await database.awaitApproval(jobID: jobID, now: now, messages: [
            reporter.liveUpdate(job: waiting, steps: steps, summary: summary),
            approvalMessages.request(job: waiting, plan: plan, voidedBy: previousKey),
        ], audit: audit)
        return true
    }

    private func cancelSummary(by user: String, release: CoxswainConfiguration.Release, steps: [JobStepRecord],
                               state: RunState, totalMilliseconds: Int) -> [String] {
        let rolledBack = steps.contains { $0.action == RunbookAction.helmRollback.rawValue && $0.status == .succeeded }
        var lines = ["*Result:* cancelled by <@\(user)> after step “\(steps.last?.title ?? "none")”."]
        if rolledBack, let plan = state.plan {
            lines.append("*Release:* rolled back to revision \(plan.to.revision) (helm revision \(plan.from.revision + 1)), not fully validated. Check it with `helm history \(release.name) -n \(release.namespace)`.")
        } else {
            lines.append("*Release:* not changed.")
        }
        lines.append(state.registryDisabled
            ? "*Registry:* `\(release.model)` stays *disabled* in \(release.environment). Once healthy: `coxswain registry enable --model-name \(release.model) --environment \(release.environment)`."
            : "*Registry:* `\(release.model)` is ready in \(release.environment) (unchanged or re-enabled).")
        lines.append("*Total time:* \(DurationText.format(milliseconds: totalMilliseconds))")
        return lines
    }

    private func finish(job: JobRecord, steps: [JobStepRecord], state: JobState, outcome: String, summary: [String],
                        extra: [OutgoingDraft] = []) async throws {
        var finalJob = job
        finalJob.state = state
        var messages = [reporter.liveUpdate(job: finalJob, steps: steps, summary: summary)] + extra
        if let line = reporter.auditChannelLine(job: finalJob, steps: steps, outcome: outcome) { messages.append(line) }
        try await database.finishJob(jobID: job.id!, state: state, outcome: outcome, now: now, messages: messages,
                                     audit: [AuditDraft(actor: "coxswain", event: "job.\(state.rawValue)", detail: outcome)])
    }

    private func successSummary(release: CoxswainConfiguration.Release, state: RunState, totalMilliseconds: Int) -> [String] {
        var lines: [String] = []
        if let plan = state.plan, let version = plan.targetVersion {
            lines.append("*Result:* upgraded `\(release.name)` from \(plan.from.summary) to chart version \(version); helm recorded it as revision \(plan.from.revision + 1).")
        } else if let plan = state.plan {
            lines.append("*Result:* rolled back `\(release.name)` from \(plan.from.summary) to \(plan.to.summary); helm recorded it as revision \(plan.from.revision + 1).")
        }
        if !state.validation.isEmpty { lines.append("*Validation:* " + state.validation.joined(separator: " · ")) }
        lines.append("*Total time:* \(DurationText.format(milliseconds: totalMilliseconds))")
        return lines
    }

    private func failureSummary(step: RunbookStep, outcome: StepOutcome, release: CoxswainConfiguration.Release,
                                state: RunState, totalMilliseconds: Int) -> [String] {
        var lines = ["*Result:* failed at step “\(step.title)”: \(outcome.failure?.what ?? "see the thread")"]
        if let hint = outcome.failure?.hint { lines.append("*What to check:* \(hint)") }
        if state.upgradeStarted {
            lines.append("*Release:* `helm upgrade` ran, so the release may be at a failed or pending revision."
                + (state.lastGoodRevision.map { " The button below rolls it back to revision \($0.revision), the last one deployed successfully." } ?? " No earlier revision was ever deployed successfully, so there is nothing to roll back to."))
        }
        if state.registryDisabled {
            lines.append("*Registry:* `\(release.model)` stays *disabled* in \(release.environment) so no traffic is routed to an unhealthy deployment. Once it is healthy: `coxswain registry enable --model-name \(release.model) --environment \(release.environment)`.")
        } else if !state.upgradeStarted {
            lines.append("*Registry:* unchanged; the release was not touched.")
        }
        if !state.validation.isEmpty { lines.append("*Validation so far:* " + state.validation.joined(separator: " · ")) }
        lines.append("*Total time:* \(DurationText.format(milliseconds: totalMilliseconds))")
        return lines
    }
}
