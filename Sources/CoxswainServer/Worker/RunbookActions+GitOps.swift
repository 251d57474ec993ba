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
