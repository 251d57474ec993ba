import CoxswainCluster
import CoxswainCore
import Foundation

/// What the runner that takes a job over learns from the release about the change its
/// predecessor started.
enum Reconciled: Sendable {
    /// helm has no trace of it: the step runs now, for the first time.
    case notStarted
    /// The step's result, read from the release: it landed, failed, or something else moved it.
    case found(StepResult)
}

extension RunbookActions {
    /// Reads the release's history (helm's, or the Deployment's rollout history) and judges it
    /// against the plan; while helm still applies the change (`pending-rollback`,
    /// `pending-upgrade`) it reads again every 2 s, within the step's timeout.
    func reconcile(
        _ step: RunbookStep, job: Job, release: CoxswainConfiguration.Release, plan: RollbackPlan, report: inout RunReport
    ) async
        -> Reconciled
    {
        let limit = GoDuration(milliseconds: step.timeout?.milliseconds ?? 600_000)
        let deadline = ContinuousClock.now + .milliseconds(limit.milliseconds)
        let where_ = "helm history \(release.name) -n \(release.namespace)"
        while true {
            let history: [HelmRevision]
            let output: ProcessOutput
            do {
                if release.kind == .deployment {
                    (history, output) = try await cluster.kubectl.rolloutHistory(deployment: Self.deploymentName(release), namespace: release.namespace)
                } else {
                    (history, output) = try await cluster.helm.history(release: release.name, namespace: release.namespace, max: 20)
                }
            } catch {
                let hint: RichText = "The job was taken over during this step and whether its change landed could not be read; check \(code: where_)."
                return .found(clusterFailure(error, hint: hint))
            }
            let details = [StepResult.Detail("history read after the takeover", Self.historyTable(history))]
            let finding = MutationFinding.judge(plan: plan, kind: job.request.kind, history: history, deployment: release.kind == .deployment)
            switch finding {
            case .notStarted:
                return .notStarted
            case .landed(let revision):
                if job.request.kind == .rollback { report.releaseChanged = true }
                // The predecessor suspended sync before helm (or this does it now: the change landed).
                var suspension = SyncSuspension.notNeeded
                if report.plan?.gitops?.suspends == true { suspension = await suspendSync(job: job, release: release, report: &report) }
                var note = ""
                if let capacity = plan.capacity, capacity.rollsOutNeutral, release.kind != .deployment {
                    // The predecessor may have stopped between helm and resuming the paused Deployment.
                    let resumed = try? await cluster.kubectl.patchDeployment(
                        capacity.verdict.deployment, namespace: release.namespace, patch: CapacityVerdict.neutralPatch(paused: false))
                    note = resumed == nil ? "; resuming its Deployment failed" : "; its Deployment resumed, still one pod at a time"
                }
                var result = StepResult.succeeded(
                    "landed before the takeover: revision \(revision.revision)\(note)",
                    audit: "\(output.commandLine): revision \(revision.revision) \(revision.status) (\(revision.description)); "
                        + "the change the previous runner started landed", details: details)
                switch suspension {
                case .notNeeded: break
                case .suspended(let detail, let event): result.details.append(detail); result.events.append(event)
                case .failed(let failure): result.note = (result.note ?? "") + "; GitOps sync could not be suspended: \(failure.failure?.what ?? "")"
                }
                return .found(result)
            case .failed(let revision):
                let hint =
                    job.request.kind == .rollback
                    ? Troubleshooting.retryRollback(release: release.name, namespace: release.namespace, revision: plan.to.revision)
                    : Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace)
                return .found(
                    .failed(
                        "helm recorded revision \(revision.revision) as failed: \(revision.description)", hint: hint, details: details,
                        audit: "\(output.commandLine): revision \(revision.revision) failed after the takeover"))
            case .movedElsewhere(let revision):
                return .found(
                    .failed(
                        "\(release.name) is at revision \(revision.revision) (\(revision.status): \(revision.description)), not where "
                            + "\(plan.shortText) leaves it: something else changed it; nothing more was done",
                        hint: Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace), details: details,
                        audit: "\(output.commandLine): release moved to revision \(revision.revision) by something else"))
            case .pending(let revision):
                guard ContinuousClock.now < deadline, !Task.isCancelled else {
                    return .found(
                        .failed(
                            "revision \(revision.revision) is still \(revision.status) after waiting \(limit) for the change the previous runner started",
                            hint: Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace), details: details,
                            audit: "\(output.commandLine): revision \(revision.revision) still \(revision.status) after \(limit)"))
                }
                // helm applies it still, as `--wait` polls the cluster: look again shortly.
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}
