import Foundation

/// What became of a job's rollback or upgrade that its runner started and never recorded the
/// end of (it died, or lost its claim): read from the release's history by the runner that
/// takes the job over, which must never run a second change for the same job.
public enum MutationFinding: Sendable, Equatable {
    /// The release is still at the plan's starting revision and nothing is pending: the change
    /// never reached the cluster, so running it now is the job's first and only one.
    case notStarted
    /// helm is still applying it (`pending-rollback`, `pending-upgrade`): wait for it.
    case pending(HelmRevision)
    /// It landed: the revision it created is deployed.
    case landed(HelmRevision)
    /// helm recorded the revision it created as failed.
    case failed(HelmRevision)
    /// The release is somewhere this job did not take it: someone or something else changed it.
    case movedElsewhere(HelmRevision)

    /// Judges helm history (`helm history -o json`) against the job's plan. `deployment`: a
    /// plain Deployment, whose `kubectl rollout history` has no statuses and whose undo
    /// renumbers the target as the newest revision.
    public static func judge(plan: RollbackPlan, kind: JobKind, history: [HelmRevision], deployment: Bool = false) -> MutationFinding {
        guard let latest = history.max(by: { $0.revision < $1.revision }) else { return .movedElsewhere(plan.from) }
        if latest.status.hasPrefix("pending-") { return .pending(latest) }
        if latest.revision == plan.from.revision { return .notStarted }
        if deployment { return latest.revision == plan.from.revision + 1 ? .landed(latest) : .movedElsewhere(latest) }
        guard latest.revision == plan.from.revision + 1, isThisJobs(latest, plan: plan, kind: kind) else { return .movedElsewhere(latest) }
        switch latest.status {
        case "deployed": return .landed(latest)
        case "failed": return .failed(latest)
        default: return .movedElsewhere(latest)  // superseded already, uninstalled …
        }
    }

    /// Whether `revision` is what this job's command writes: helm describes a rollback as
    /// "Rollback to N"; an upgrade records the target chart version.
    static func isThisJobs(_ revision: HelmRevision, plan: RollbackPlan, kind: JobKind) -> Bool {
        switch kind {
        case .rollback: return revision.description == "Rollback to \(plan.to.revision)"
        case .upgrade: return plan.targetVersion.map { revision.chart.hasSuffix("-\($0)") } ?? false
        }
    }
}
