import Foundation

/// What a running job has learned so far, carried from step to step; the closing lines of
/// its live message are written from it.
public struct RunReport: Sendable, Equatable {
    public var plan: RollbackPlan?
    public var registryDisabled = false
    public var validation: [String] = []
    /// `helm upgrade` ran (even if it failed): the release may have changed.
    public var upgradeStarted = false
    /// For an upgrade: the newest revision deployed successfully before it, which a failed
    /// upgrade offers to roll back to.
    public var lastGoodRevision: HelmRevision?
    /// The rollback itself ran (helm rollback or kubectl rollout undo succeeded).
    public var releaseChanged = false
    public var totalMilliseconds = 0
    /// Set by the history step when the release is no longer where the requester saw it.
    public var basis: BasisCheck?
    /// The release's pods just before the change, so that waits judge only the new ones; nil
    /// when they could not be read (then nothing is stopped early).
    public var podsBefore: Set<String>?
    /// `kubectl get deployments -o json` of the release, as the capacity check read it, for the GitOps check.
    public var deploymentsJSON: Data?
    /// Suspending GitOps sync was tried (it is tried once, at the first step that changes something).
    public var syncSuspensionTried = false

    public init() {}
}

/// A queued rollback whose release moved since it was asked for.
public enum BasisCheck: Sendable, Equatable {
    /// A Coxswain job already rolled it back from that revision.
    case alreadyDone(by: Int64, current: HelmRevision)
    /// Someone or something else changed it: the requester confirms the new plan.
    case moved(why: String)
}

/// The closing lines of a job's live message.
extension JobNarrator {
    public func successSummary(_ job: Job, report: RunReport) -> [RichText] {
        var lines: [RichText] = []
        let release = job.request.release
        if let plan = report.plan, let version = plan.targetVersion {
            lines.append(
                "\(strong: "Result:") upgraded \(code: release) from \(plan.from.summary) to chart version \(version); "
                    + "helm recorded it as revision \(plan.from.revision + 1).")
        } else if let plan = report.plan {
            lines.append(
                "\(strong: "Result:") rolled back \(code: release) from \(plan.from.summary) to \(plan.to.summary); "
                    + "helm recorded it as revision \(plan.from.revision + 1).")
        }
        if !report.validation.isEmpty { lines.append("\(strong: "Validation:") " + report.validation.joined(separator: " · ")) }
        if let suspended = report.plan?.gitops?.suspendedText { lines.append(suspended) }
        lines.append(totalTime(report))
        return lines
    }

    public func failureSummary(_ job: Job, stepTitle: String, what: String, hint: RichText?, report: RunReport) -> [RichText] {
        var lines: [RichText] = ["\(strong: "Result:") failed at step “\(stepTitle)”: \(what)"]
        if let hint { lines.append("\(strong: "What to check:") " + hint) }
        if report.upgradeStarted {
            let back: RichText =
                report.lastGoodRevision.map {
                    " The button below rolls it back to revision \($0.revision), the last one deployed successfully."
                } ?? " No earlier revision was ever deployed successfully, so there is nothing to roll back to."
            lines.append("\(strong: "Release:") \(code: "helm upgrade") ran, so the release may be at a failed or pending revision." + back)
        }
        if report.registryDisabled {
            lines.append(registryStillDisabled(job))
        } else if !report.upgradeStarted && !report.releaseChanged {
            lines.append("\(strong: "Registry:") unchanged; the release was not touched.")
        }
        if !report.validation.isEmpty { lines.append("\(strong: "Validation so far:") " + report.validation.joined(separator: " · ")) }
        if let suspended = report.plan?.gitops?.suspendedText { lines.append(suspended) }
        lines.append(totalTime(report))
        return lines
    }

    public func cancelSummary(_ job: Job, by user: String, report: RunReport) -> [RichText] {
        let request = job.request
        var lines: [RichText] = ["\(strong: "Result:") cancelled by \(user: user) after step “\(job.lastStepTitle ?? "none")”."]
        if report.releaseChanged, let plan = report.plan {
            lines.append(
                "\(strong: "Release:") rolled back to revision \(plan.to.revision) (helm revision \(plan.from.revision + 1)), "
                    + "not fully validated. Check it with \(code: "helm history \(request.release) -n \(request.namespace)").")
        } else {
            lines.append("\(strong: "Release:") not changed.")
        }
        lines.append(
            report.registryDisabled
                ? registryStillDisabled(job)
                : "\(strong: "Registry:") \(code: request.model) is ready in \(request.environment) (unchanged or re-enabled).")
        if let suspended = report.plan?.gitops?.suspendedText { lines.append(suspended) }
        lines.append(totalTime(report))
        return lines
    }

    public func registryStillDisabled(_ job: Job) -> RichText {
        let request = job.request
        return "\(strong: "Registry:") \(code: request.model) stays \(strong: "disabled") in \(request.environment) so no traffic is routed to an "
            + "unhealthy deployment. Once it is healthy: "
            + "\(code: "coxswain registry enable --model-name \(request.model) --environment \(request.environment)")."
    }

    /// The short line the requester and the followers get when a job ends.
    public func resultReply(_ job: Job) -> RichText {
        "\(job.state.symbol) Job #\(job.id) \(job.planLine): \(job.state.words)" + (job.outcome.map { " — \($0)" } ?? "") + "."
    }

    private func totalTime(_ report: RunReport) -> RichText {
        "\(strong: "Total time:") \(DurationText.format(milliseconds: report.totalMilliseconds))"
    }
}

extension Job {
    /// The title of the last step that ran, whatever its outcome.
    public var lastStepTitle: String? { steps.max { $0.position < $1.position }?.title }
}
