import CoxswainCluster
import CoxswainCore
import Foundation
import Logging

/// `/resume-sync RELEASE [--force]`: puts back the Argo CD or Flux sync a change suspended
/// (`gitops: suspend`), from what the change saved on the Application or HelmRelease. The one
/// who asks needs the rollback grant where the release lives (checked by the dispatcher).
/// Resuming is a change to the cluster: it is audited, and the channel is told.
struct SyncResumption: Sendable {
    let configuration: CoxswainConfiguration
    let kubectl: KubectlClient
    let audit: any AuditStore
    let now: @Sendable () -> Date
    let logger: Logger

    /// What came of it: the text, and whether it was a change (then audited and said in the channel).
    struct Outcome: Sendable {
        var text: RichText
        var change: AuditDraft?
    }

    /// Resumes sync and records it: a change is audited together with the channel's notice
    /// (`place`; nil: the audit entry alone). The text is for the one who asked.
    func run(release name: String, force: Bool, user: String, place: Notice.Place?) async -> DeferredAnswer {
        let outcome = await resume(release: name, force: force, user: user)
        guard let change = outcome.change else { return DeferredAnswer(text: outcome.text) }
        let notices = place.map { [Notice.message(outcome.text, jobID: nil, place: $0)] } ?? []
        let audit = self.audit, now = self.now()
        do {
            try await Persistence.patient(logger).run("record a resumed sync") { try await audit.append(change, jobID: nil, notices: notices, now: now) }
        } catch {
            logger.error("could not record \(change.event) for \(name): \(error)")
            return DeferredAnswer(text: outcome.text + " (Coxswain could not record this in its audit trail: \(String(describing: error)).)")
        }
        return DeferredAnswer(text: outcome.text, announced: place != nil)
    }

    func resume(release name: String, force: Bool, user: String) async -> Outcome {
        guard let release = configuration.release(named: name) else { return Outcome(text: "Coxswain does not know a release \(code: name).") }
        let owner: GitOpsOwner
        let json: Data
        do throws(ClusterFailure) {
            let deployments = try await kubectl.deployments(
                release: release.name, deployment: release.kind == .deployment ? (release.deploymentName ?? release.name) : nil,
                namespace: release.namespace)
            let read: GitOpsOwner?
            do { read = try GitOpsOwner.owner(deploymentsJSON: Data(deployments.stdout.utf8), argoNamespace: configuration.cluster.argoCDNamespace) } catch {
                return Outcome(text: "Could not read \(code: name)'s Deployments (\(error.description)); nothing was changed.")
            }
            guard let found = read else {
                return Outcome(text: "\(code: name)'s Deployments carry no Argo CD or Flux labels or annotations: there is no GitOps sync to resume.")
            }
            owner = found
            json = Data(try await kubectl.object(owner.resource, name: owner.name, namespace: owner.namespace).stdout.utf8)
        } catch {
            let text: RichText = "Could not read \(code: name)'s GitOps owner: \(error.message)"
            return Outcome(text: text + (error.accessHint(context: configuration.cluster.kubeContext).map { " " + $0 } ?? ""))
        }
        let what: RichText = "\(owner.tool.rawValue) \(owner.kind) \(code: owner.name) (namespace \(owner.namespace))"
        let state = GitOpsSuspension.state(ownerJSON: json, tool: owner.tool)
        let differs = state?.syncStatus == "OutOfSync"
        if differs && !force && state?.syncing == false {
            return Outcome(
                text: "Argo CD reports \(what) \(strong: "OutOfSync"): Git still differs from the cluster, so resuming sync now would put back "
                    + "what Git says and undo the change. Make the change in Git first (Argo CD then reports Synced), "
                    + "or resume anyway with \(code: "/\(configuration.commandPrefix)resume-sync \(name) --force").")
        }
        let patch: String
        switch GitOpsSuspension.resumePatch(ownerJSON: json, tool: owner.tool) {
        case .success(let text): patch = text
        case .failure(.alreadySyncing): return Outcome(text: "\(what) already syncs on its own: nothing to resume.")
        case .failure(.notSuspendedByCoxswain):
            return Outcome(
                text: "\(what) has automated sync off, but Coxswain did not turn it off, so it does not know the policy to put back. "
                    + "Turn it on in Argo CD: \(code: "argocd app set \(owner.name) --sync-policy automated").")
        case .failure(.unreadable(let why)): return Outcome(text: "Could not resume \(what): \(why)")
        }
        let output: ProcessOutput
        do throws(ClusterFailure) {
            output = try await kubectl.patch(owner.resource, name: owner.name, namespace: owner.namespace, patch: patch)
        } catch {
            let hint = error.accessHint(context: configuration.cluster.kubeContext)
                ?? "The chart grants the patch with \(code: "rbac.gitops.suspend: true")."
            return Outcome(text: "Could not resume \(what): \(error.message) " + hint)
        }
        let sync = owner.tool == .argoCD ? "automated sync" : "reconciliation"
        let forced: RichText = differs ? " It reported OutOfSync (forced): it will put back what Git says." : " It applies what Git says from now on."
        return Outcome(
            text: "▶️ \(user: user) resumed \(owner.tool.rawValue)'s \(sync) of \(what) for \(code: name)." + forced,
            change: AuditDraft(
                actor: user, event: "gitops.resumed",
                detail: "\(name): \(owner.kind) \(owner.namespace)/\(owner.name) \(sync) resumed\(differs ? " while OutOfSync (--force)" : ""); "
                    + "\(output.commandLine): exit 0"))
    }
}
