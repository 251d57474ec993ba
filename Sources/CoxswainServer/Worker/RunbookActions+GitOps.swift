import CoxswainCluster
import CoxswainCore
import Foundation

/// `gitops.check`: before anything changes, whether Argo CD or Flux keeps the release as Git
/// says. Such a controller with automated sync puts back what Git says minutes after a
/// rollback, silently; the plan tells the approver, and `gitops: refuse` stops the change.
extension RunbookActions {
    func gitops(job: Job, release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        guard report.plan != nil else { return .failed("no plan was decided", hint: "the runbook must start with helm.history") }
        let mode = configuration.environments[release.environment]?.gitopsMode ?? .warn
        let kubectl = cluster.kubectl
        let owner: GitOpsOwner?
        do throws(ClusterFailure) {
            // The capacity check read the Deployments already, when it ran.
            let deployments: Data
            if let read = report.deploymentsJSON {
                deployments = read
            } else {
                let output = try await kubectl.deployments(
                    release: release.name, deployment: release.kind == .deployment ? Self.deploymentName(release) : nil, namespace: release.namespace)
                deployments = Data(output.stdout.utf8)
            }
            do {
                owner = try GitOpsOwner.owner(deploymentsJSON: deployments, argoNamespace: configuration.cluster.argoCDNamespace)
            } catch {
                throw ClusterFailure(kind: .unreadableOutput, output: nil, message: error.description)
            }
        } catch {
            // Unknown is not "nobody": only where such changes go ahead anyway does the job.
            guard mode == .refuse && !job.request.emergency else {
                return .succeeded("not checked (\(error.message))", audit: "gitops: could not read the Deployments: \(error.message)")
            }
            return clusterFailure(
                error, hint: "Whether Argo CD or Flux syncs the release could not be read, and this environment refuses such changes. Nothing was changed.")
        }
        guard var owner else {
            return .succeeded("not synced by Argo CD or Flux", audit: "gitops: no Argo CD or Flux labels or annotations on the release's Deployments")
        }
        var audit = "gitops: "
        do {
            let output = try await kubectl.object(owner.resource, name: owner.name, namespace: owner.namespace)
            owner.autoSync = GitOpsOwner.autoSync(ownerJSON: Data(output.stdout.utf8), tool: owner.tool)
            audit += "\(output.commandLine): "
        } catch {
            audit += "\(owner.resource)/\(owner.name) unreadable (\(error.message)): "
        }
        let plan = GitOpsPlan(owner: owner, mode: mode)
        report.plan?.gitops = plan
        guard mode == .refuse, plan.undoes, !job.request.emergency else {
            return .succeeded(plan.text, audit: audit + plan.text + " (gitops: \(mode.rawValue))")
        }
        return .failed(
            "\(release.name) is \(plan.text); this environment refuses such changes, and nothing was changed", hint: Self.gitOpsHint(owner, release),
            note: "refused", audit: audit + plan.text + "; refused (gitops: refuse)")
    }

    static func gitOpsHint(_ owner: GitOpsOwner, _ release: CoxswainConfiguration.Release) -> RichText {
        let suspend: RichText =
            owner.tool == .argoCD
            ? "\(code: "argocd app set \(owner.name) --sync-policy none")"
            : "\(code: "flux suspend \(owner.kind.lowercased()) \(owner.name) -n \(owner.namespace)")"
        return "Make the change in Git (revert the commit that brought this revision) and let \(owner.tool.rawValue) sync it; or suspend its sync, "
            + suspend + ", and ask again (then the change must land in Git before sync resumes). "
            + "\(code: "environments.\(release.environment).gitops: warn") lets such changes go ahead with this warning in the plan."
    }
}

/// `gitops: suspend`: the owner's automated sync is turned off at the first step that changes
/// something (the registry's disable, else helm's change), after approval and before anything
/// else moves, so that it cannot undo the change; it stays off until `/resume-sync`
/// (`SyncResumption`). Not earlier: a job waiting for approval, or denied, leaves sync alone.
extension RunbookActions {
    /// What suspending sync came to, before the change.
    enum SyncSuspension {
        /// Nothing to suspend (no owner, or it does not sync on its own).
        case notNeeded
        /// Sync is off, by Coxswain: the change goes on, and its result says so.
        case suspended(StepResult.Detail, AuditDraft)
        /// It could not be turned off: the change does not happen (break-glass goes on with a note).
        case failed(StepResult)
    }

    var resumeCommand: String { "/\(configuration.commandPrefix)resume-sync" }

    func suspendSync(job: Job, release: CoxswainConfiguration.Release, report: inout RunReport) async -> SyncSuspension {
        guard let gitops = report.plan?.gitops, gitops.suspends, gitops.suspendedUntil == nil, !report.syncSuspensionTried else { return .notNeeded }
        report.syncSuspensionTried = true
        let owner = gitops.owner, kubectl = cluster.kubectl
        let unreadable = ClusterFailure(kind: .unreadableOutput, output: nil, message: "\(owner.resource)/\(owner.name) is not an object with a spec")
        var lines: [String] = []
        do throws(ClusterFailure) {
            let read = try await kubectl.object(owner.resource, name: owner.name, namespace: owner.namespace)
            let json = Data(read.stdout.utf8)
            guard let state = GitOpsSuspension.state(ownerJSON: json, tool: owner.tool) else { throw unreadable }
            if state.syncing {
                guard let patch = GitOpsSuspension.suspendPatch(ownerJSON: json, tool: owner.tool, job: job.id) else { throw unreadable }
                lines.append(try await kubectl.patch(owner.resource, name: owner.name, namespace: owner.namespace, patch: patch).commandLine)
            } else if state.saved == nil {
                // Someone turned it off meanwhile, by hand: not Coxswain's to resume.
                return .notNeeded
            } else {
                // Coxswain suspended it already: this job's step runs again after a takeover.
                lines.append("\(read.commandLine): already suspended by Coxswain (\(state.saved ?? ""))")
            }
        } catch {
            let hint: RichText =
                "Nothing was changed. Coxswain patches the \(owner.kind) to suspend its sync (the chart grants it with "
                + "\(code: "rbac.gitops.suspend: true")); or suspend it by hand and ask again. "
                + "\(code: "environments.\(release.environment).gitops: warn") goes ahead without suspending."
            guard job.request.emergency else { return .failed(clusterFailure(error, hint: hint)) }
            // Break-glass is never stopped by a check; the result says sync is still on.
            return .suspended(
                .init("GitOps sync NOT suspended", "\(error.message)\nArgo CD or Flux may put back what Git says."),
                AuditDraft(actor: "coxswain", event: "gitops.suspend.failed", detail: "\(owner.text): \(error.message); going on (break-glass)"))
        }
        report.plan?.gitops?.suspendedUntil = resumeCommand
        let what = owner.tool == .argoCD ? "automated sync" : "reconciliation"
        let until = "\(owner.tool.rawValue)'s \(what) of \(owner.kind) \(owner.name) is off until \(resumeCommand) \(release.name)."
        let detail = "\(release.name): \(owner.kind) \(owner.namespace)/\(owner.name) \(what) suspended by job #\(job.id); "
        return .suspended(
            .init("GitOps sync suspended", (lines + [until]).joined(separator: "\n")),
            AuditDraft(actor: "coxswain", event: "gitops.suspended", detail: detail + lines.joined(separator: "; ")))
    }

    /// Runs a step that changes something with sync suspended first, when the plan says so and
    /// an earlier step has not.
    func withSyncSuspended(
        job: Job, release: CoxswainConfiguration.Release, report: inout RunReport, change: (inout RunReport) async -> StepResult
    ) async -> StepResult {
        switch await suspendSync(job: job, release: release, report: &report) {
        case .notNeeded: return await change(&report)
        case .failed(let result): return result
        case .suspended(let detail, let event):
            var result = await change(&report)
            result.note = (result.note.map { $0 + "; " } ?? "") + (event.event == "gitops.suspended" ? "GitOps sync suspended" : "GitOps sync NOT suspended")
            result.details.insert(detail, at: 0)
            result.events.append(event)
            return result
        }
    }
}
