import CoxswainCore
import Foundation

/// Where a job goes on when this runner starts it: at the top for a new job, or, for a job
/// taken over from a runner that is gone, after what that runner recorded and what the release
/// shows. A step that changed nothing runs again; a change to the cluster never runs twice.
struct ResumePoint: Sendable {
    var job: Job
    var position: Int
    var report: RunReport
    /// The result of the step at `position` when it is already known (the change the previous
    /// runner started was found landed or failed): recorded without running the step again.
    var result: StepResult?
}

extension JobRunner {
    /// The steps that change the cluster: helm's own record says whether they ran.
    static let clusterChanges: Set<RunbookAction> = [.helmRollback, .helmUpgrade]

    /// How much claim a step's commands need left: a change needs helm's `--timeout` and the
    /// minute Coxswain's own limit sits past it; anything else the usual third of a claim.
    static func commandNeed(_ step: RunbookStep) -> Duration {
        guard clusterChanges.contains(step.action) else { return .zero }
        return .milliseconds(step.timeout?.milliseconds ?? 600_000) + .seconds(60)
    }

    /// nil: the job ended here.
    func resumePoint(_ job: Job, steps: [RunbookStep], release: CoxswainConfiguration.Release, claim: JobClaim) async throws -> ResumePoint? {
        let fresh = ResumePoint(job: job, position: 0, report: RunReport(), result: nil)
        guard job.handover != nil, !job.steps.isEmpty else { return fresh }
        let transitions = claim.transitions, lifecycle = self.lifecycle, now = self.now
        var report = RunReport()
        report.plan = job.plan
        // The runner recorded a step's failure and stopped before it ended the job: end it now.
        if let failed = job.steps.first(where: { $0.status == .failed }) {
            let what = failed.note ?? "see the thread"
            let summary = lifecycle.narrator.failureSummary(job, stepTitle: failed.title, what: what, hint: nil, report: report)
            try await transitions.apply(job, "record job #\(job.id) as failed") {
                lifecycle.finished($0, state: .failed, outcome: "failed at \(failed.title): \(what)", summary: summary, now: now())
            }
            return nil
        }
        let changes = job.steps.filter { RunbookAction(rawValue: $0.action).map(Self.clusterChanges.contains) ?? false }
        // Nothing has changed the cluster: every step so far only read or decided, so all run again.
        guard let change = changes.last, let plan = job.plan, change.position < steps.count else { return fresh }
        let succeeded = { (action: RunbookAction) in job.steps.contains { $0.action == action.rawValue && $0.status == .succeeded } }
        report.registryDisabled = succeeded(.registryDisable) && !succeeded(.registryEnable)
        if job.request.kind == .upgrade {
            report.upgradeStarted = true
            if ["deployed", "superseded"].contains(plan.from.status) { report.lastGoodRevision = plan.from }
        }
        if change.status == .succeeded {
            report.releaseChanged = job.request.kind == .rollback
            var next = change.position + 1
            while job.steps.contains(where: { $0.position == next && $0.status == .succeeded }) { next += 1 }
            return ResumePoint(job: job, position: next, report: report, result: nil)
        }
        // The change was under way when its runner stopped: what became of it decides.
        switch await actions.reconcile(steps[change.position], job: job, release: release, plan: plan, report: &report) {
        case .notStarted: return ResumePoint(job: job, position: change.position, report: report, result: nil)
        case .found(let result): return ResumePoint(job: job, position: change.position, report: report, result: result)
        }
    }
}
