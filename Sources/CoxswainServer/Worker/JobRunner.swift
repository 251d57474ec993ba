import CoxswainCluster
import CoxswainCore
import Foundation
import Logging

/// Runs one job through its runbook. Every step's start and result, with what the channel
/// and the audit trail hear about it, is committed before the next step runs. When the
/// store fails for a while (locked, disk full), the job waits for it rather than going on
/// unrecorded; when the server must stop, the job is recorded as interrupted.
struct JobRunner: Sendable {
    let configuration: CoxswainConfiguration
    let runbooks: RunbookSet
    let jobs: any JobStore
    let lifecycle: JobLifecycle
    let policy: AccessPolicy
    let actions: RunbookActions
    let userGroups: UserGroupDirectory
    let metrics: ServerMetrics
    let now: @Sendable () -> Date
    let logger: Logger

    func run(_ job: Job, claim: JobClaim) async {
        let heartbeat = Task { await claim.keepRenewed() }
        defer { heartbeat.cancel() }
        do {
            try await CommandGate.$current.withValue(claim) { try await execute(job, claim) }
        } catch let lost as ClaimLost {
            logger.warning("job \(job.id) stopped here: \(lost)")
        } catch {
            let why = error is CancellationError || Task.isCancelled ? "by a shutdown that could not wait" : "by an internal error: \(error)"
            logger.error("job \(job.id) stopped \(why)")
            await interrupt(job.id, why: why, claim: claim)
        }
    }

    /// Records the job as interrupted if this runner still holds it, even while the surrounding
    /// task is being cancelled.
    func interrupt(_ id: Int64, why: String, claim: JobClaim) async {
        let transitions = claim.transitions, lifecycle = self.lifecycle, jobs = self.jobs, now = self.now
        let logger = self.logger
        // A task of its own: the caller's cancellation must not cancel the write that records it.
        await Task {
            do {
                guard let job = try await Persistence.patient(logger).run("read job #\(id)", { try await jobs.job(id: id) }), job.state == .running else {
                    return
                }
                try await transitions.apply(job, "record job #\(id) as interrupted") { lifecycle.interrupted($0, why: why, now: now()) }
            } catch is ClaimLost {
                logger.notice("job \(id) is another runner's now; it is not recorded as interrupted here")
            } catch {
                logger.error("could not record job \(id) as interrupted (\(error)); another runner takes it over once its claim expires")
            }
        }.value
    }

    private func execute(_ claimed: Job, _ claim: JobClaim) async throws {
        let now = self.now, transitions = claim.transitions
        guard let release = configuration.release(named: claimed.request.release),
            let runbook = runbooks.runbook(for: claimed.request)
        else {
            let summary: [RichText] = ["\(strong: "Result:") \(code: claimed.request.release) or its runbook is no longer configured; nothing was done."]
            try await transitions.apply(claimed, "fail job #\(claimed.id)") { [lifecycle] in
                lifecycle.finished($0, state: .failed, outcome: "release or runbook no longer configured", summary: summary, now: now())
            }
            return
        }
        let clock = ContinuousClock()
        let started = clock.now
        let steps = runbook.steps
        // A job taken over goes on from where its recorded steps and the release say; a new one starts at the top.
        guard var resume = try await resumePoint(claimed, steps: steps, release: release, claim: claim) else { return }
        var job = resume.job
        var report = resume.report
        let lifecycle = self.lifecycle
        var startedWithPrevious = resume.result != nil
        for position in resume.position..<steps.count {
            let step = steps[position]
            try Task.checkCancellation()
            if position > 0 && !startedWithPrevious {
                // A cancellation takes effect between steps, never inside a helm call.
                job = try await reload(job)
                if let by = job.cancelRequestedBy {
                    report.totalMilliseconds = (clock.now - started).milliseconds
                    let summary = lifecycle.narrator.cancelSummary(job, by: by, report: report)
                    try await transitions.apply(job, "record job #\(job.id) as cancelled") {
                        lifecycle.finished(
                            $0, state: .cancelled, outcome: "cancelled by \(by) after step: \($0.lastStepTitle ?? "none")", summary: summary, now: now())
                    }
                    return
                }
            }
            if !startedWithPrevious {
                job = try await transitions.apply(job, "record job #\(job.id)'s step \(position + 1)") {
                    lifecycle.stepStarted($0, position: position, step: step, now: now())
                }
            }
            claim.require(Self.commandNeed(step))
            let stepStarted = clock.now
            let preset = resume.result
            resume.result = nil
            let result: StepResult
            if let preset {
                result = preset
            } else {
                result = await actions.perform(step, job: job, release: release, report: &report, progress: progress(job, position: position, transitions))
            }
            metrics.step(action: step.action.rawValue, outcome: result.status.rawValue, duration: clock.now - stepStarted)
            let plan = report.plan
            // The next step starts in the same transaction as this one's result (one commit,
            // one fsync, one version of the live message), unless something is decided here
            // first: a failure, a moved release, the approval gate, a cancel request.
            let gated = step.action == .confirm && result.status == .succeeded && job.approvalsRequired > 0 && !job.request.emergency
            let next =
                position + 1 < steps.count && result.status != .failed && !gated && !Task.isCancelled
                    && !(step.action == .helmHistory && report.basis != nil)
                ? position + 1 : nil
            job = try await transitions.apply(job, "record job #\(job.id)'s step \(position + 1) result") {
                let finished = lifecycle.stepFinished($0, position: position, result: result, plan: plan, now: now())
                guard let next, finished.job.cancelRequestedBy == nil else { return finished }
                return finished.then(lifecycle.stepStarted(finished.job, position: next, step: steps[next], now: now())) ?? finished
            }
            startedWithPrevious = job.steps.contains { $0.position == position + 1 && $0.status == .running }
            if Self.clusterChanges.contains(step.action) { try await claim.shorten() }
            if step.action == .helmHistory, let basis = report.basis {
                try await settle(job, basis: basis, plan: report.plan, transitions)
                return
            }
            if step.action == .confirm, result.status == .succeeded, job.approvalsRequired > 0, !job.request.emergency {
                guard try await passesApprovalGate(&job, transitions) else { return }
            }
            if result.status == .failed {
                report.totalMilliseconds = (clock.now - started).milliseconds
                let summary = lifecycle.narrator.failureSummary(
                    job, stepTitle: step.title, what: result.failure?.what ?? "see the thread",
                    hint: result.failure?.hint, report: report)
                let extra = report.upgradeStarted ? report.lastGoodRevision.map { [lifecycle.narrator.rollbackOffer(job, target: $0)] } ?? [] : []
                try await transitions.apply(job, "record job #\(job.id) as failed") {
                    lifecycle.finished(
                        $0, state: .failed, outcome: "failed at \(step.title): \(result.failure?.what ?? "")", summary: summary,
                        extra: extra, now: now())
                }
                return
            }
        }
        report.totalMilliseconds = (clock.now - started).milliseconds
        let summary = lifecycle.narrator.successSummary(job, report: report)
        let outcome = "succeeded: \(report.plan?.shortText ?? "")"
        try await transitions.apply(job, "record job #\(job.id) as succeeded") {
            lifecycle.finished($0, state: .succeeded, outcome: outcome, summary: summary, now: now())
        }
    }

    /// The release moved since the request: nothing to do, or the requester confirms first.
    private func settle(_ job: Job, basis: BasisCheck, plan: RollbackPlan?, _ transitions: JobTransitions) async throws {
        let lifecycle = self.lifecycle, now = self.now
        switch basis {
        case .alreadyDone(let other, let current):
            try await transitions.apply(job, "record job #\(job.id) as already done") { lifecycle.alreadyDone($0, by: other, current: current, now: now()) }
        case .moved(let why):
            guard let plan else {
                let summary: [RichText] = ["\(strong: "Result:") \(why) There is no earlier good revision left to roll back to; nothing was changed."]
                try await transitions.apply(job, "record job #\(job.id)") {
                    lifecycle.finished($0, state: .failed, outcome: "release moved; no plan left", summary: summary, now: now())
                }
                return
            }
            try await transitions.apply(job, "park job #\(job.id) for confirmation") { lifecycle.awaitConfirmation($0, plan: plan, why: why, now: now()) }
        }
    }

    /// Approvals count only for the current plan and only while their giver still holds the
    /// approve grant (user groups as they are now). Without enough, the job parks.
    private func passesApprovalGate(_ job: inout Job, _ transitions: JobTransitions) async throws -> Bool {
        let approvers = Set(job.currentApprovals.map(\.user))
        var groups: [String: Set<String>] = [:]
        for user in approvers { groups[user] = await userGroups.groups(of: user) }
        let policy = self.policy, lifecycle = self.lifecycle, now = self.now
        let environment = job.request.environment
        let frozen = groups
        job = try await transitions.apply(job, "check job #\(job.id)'s approvals") { current in
            let gate = lifecycle.approvalGate(
                current,
                stillApproves: {
                    policy.decide(user: $0, groups: frozen[$0] ?? [], permission: .approve, environment: environment, channel: nil)
                }, now: now())
            switch gate {
            case .proceed(let change), .wait(let change): return change
            }
        }
        return job.state == .running
    }

    /// Writes a running step's progress line; a write that fails is only logged (the step's result follows).
    private func progress(_ job: Job, position: Int, _ transitions: JobTransitions) -> StepProgress {
        let lifecycle = self.lifecycle, logger = self.logger
        return { note in
            do {
                try await transitions.apply(job, "record job #\(job.id)'s step \(position + 1) progress") {
                    lifecycle.stepProgress($0, position: position, note: note)
                }
            } catch {
                logger.notice("job \(job.id): progress of step \(position + 1) not recorded: \(error)")
            }
        }
    }

    func reload(_ job: Job) async throws -> Job {
        let jobs = self.jobs, id = job.id
        return try await Persistence.patient(logger).run("read job #\(id)") { try await jobs.job(id: id) } ?? job
    }
}
