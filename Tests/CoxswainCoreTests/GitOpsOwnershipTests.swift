import CoxswainCore
import Foundation
import Testing

/// Who syncs a release, from the labels and annotations Argo CD and Flux put on what they apply.
@Suite struct GitOpsOwnershipTests {
    @Test("Argo CD by its tracking annotation (and an Application in another namespace) or instance label; Flux by its controllers' labels")
    func owners() throws {
        let tracked = GitOpsOwner.owner(
            labels: ["app.kubernetes.io/instance": "llama"], annotations: ["argocd.argoproj.io/tracking-id": "llama-prod:apps/Deployment:production/llama"],
            argoNamespace: "argocd")
        #expect(tracked == GitOpsOwner(tool: .argoCD, kind: "Application", name: "llama-prod", namespace: "argocd"))
        let elsewhere = GitOpsOwner.owner(
            labels: [:], annotations: ["argocd.argoproj.io/tracking-id": "team-a_llama-prod:apps/Deployment:production/llama"], argoNamespace: "argocd")
        #expect(elsewhere?.namespace == "team-a" && elsewhere?.name == "llama-prod")
        #expect(GitOpsOwner.owner(labels: ["argocd.argoproj.io/instance": "llama-prod"], annotations: [:], argoNamespace: "gitops")?.namespace == "gitops")
        let helmRelease = GitOpsOwner.owner(
            labels: ["helm.toolkit.fluxcd.io/name": "llama", "helm.toolkit.fluxcd.io/namespace": "flux-apps"], annotations: [:], argoNamespace: "argocd")
        #expect(helmRelease == GitOpsOwner(tool: .flux, kind: "HelmRelease", name: "llama", namespace: "flux-apps"))
        #expect(helmRelease?.resource == "helmreleases.helm.toolkit.fluxcd.io")
        let kustomization = GitOpsOwner.owner(labels: ["kustomize.toolkit.fluxcd.io/name": "models"], annotations: [:], argoNamespace: "argocd")
        #expect(kustomization?.kind == "Kustomization" && kustomization?.namespace == "flux-system")
        // helm's own instance label alone is not Argo CD's.
        let helmOnly = ["app.kubernetes.io/instance": "llama", "app.kubernetes.io/managed-by": "Helm"]
        #expect(GitOpsOwner.owner(labels: helmOnly, annotations: [:], argoNamespace: "argocd") == nil)
        let list = try JSONSerialization.data(withJSONObject: [
            "items": [["metadata": ["name": "a"]], ["metadata": ["name": "b", "labels": ["helm.toolkit.fluxcd.io/name": "b"]]]]
        ])
        #expect(try GitOpsOwner.owner(deploymentsJSON: list, argoNamespace: "argocd")?.name == "b")
        #expect(throws: CapacityPreflight.Unreadable.self) { try GitOpsOwner.owner(deploymentsJSON: Data("nope".utf8), argoNamespace: "argocd") }
    }

    @Test("automated sync: an Application's syncPolicy.automated (unless enabled: false), a Flux object that is not suspended")
    func autoSync() throws {
        func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
        #expect(GitOpsOwner.autoSync(ownerJSON: try json(["spec": ["syncPolicy": ["automated": ["prune": true]]]]), tool: .argoCD) == true)
        #expect(GitOpsOwner.autoSync(ownerJSON: try json(["spec": ["syncPolicy": ["automated": ["enabled": false]]]]), tool: .argoCD) == false)
        #expect(GitOpsOwner.autoSync(ownerJSON: try json(["spec": ["project": "default"]]), tool: .argoCD) == false)
        #expect(GitOpsOwner.autoSync(ownerJSON: try json(["spec": ["suspend": true]]), tool: .flux) == false)
        #expect(GitOpsOwner.autoSync(ownerJSON: try json(["spec": ["interval": "5m"]]), tool: .flux) == true)
        #expect(GitOpsOwner.autoSync(ownerJSON: Data("<html>".utf8), tool: .flux) == nil)
    }

    @Test("what the approver reads: unknown sync counts as syncing (fail closed); suspended sync undoes nothing")
    func planTexts() {
        var owner = GitOpsOwner(tool: .argoCD, kind: "Application", name: "llama-prod", namespace: "argocd", autoSync: true)
        let syncing = GitOpsPlan(owner: owner, mode: .refuse)
        #expect(syncing.undoes)
        #expect(
            syncing.text == "managed by Argo CD Application llama-prod (namespace argocd), automated sync on: "
                + "it may put back what Git says and undo this change; make the same change in Git")
        owner.autoSync = nil
        #expect(GitOpsPlan(owner: owner, mode: .refuse).undoes && owner.text.hasSuffix("sync state unknown"))
        let suspended = GitOpsPlan(owner: GitOpsOwner(tool: .flux, kind: "HelmRelease", name: "llama", namespace: "apps", autoSync: false), mode: .refuse)
        #expect(!suspended.undoes && suspended.text.hasPrefix("managed by Flux HelmRelease llama (namespace apps), suspended: nothing re-applies Git"))
    }

    @Test("gitops: warn by default, refuse or suspend per environment; the Argo CD namespace; mistakes named")
    func configuration() throws {
        let yaml =
            "cluster: { argocd_namespace: gitops }\nenvironments: { p: { namespace: p, gitops: refuse }, s: { namespace: s }, "
            + "q: { namespace: q, gitops: suspend } }\nreleases: {}"
        let parsed = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml")
        #expect(parsed.environments["p"]?.gitopsMode == .refuse && parsed.environments["s"]?.gitopsMode == .warn)
        #expect(parsed.environments["q"]?.gitopsMode == .suspend)
        #expect(parsed.cluster.argoCDNamespace == "gitops")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: "environments: { p: { namespace: p, gitops: suspnd } }\nreleases: {}", file: "c.yaml")
        }
        do {
            _ = try ConfigurationLoader.parse(yaml: "environments: { p: { namespace: p, gitops: pause } }\nreleases: {}", file: "c.yaml")
            Issue.record("accepted gitops: pause")
        } catch {
            #expect("\(error)".contains("environments.p.gitops: must be warn (the plan says Argo CD or Flux syncs the release"), "\(error)")
            #expect("\(error)".contains("or suspend (automated sync is suspended before the change, until /resume-sync)"), "\(error)")
        }
    }

    static func object(_ spec: [String: Any], annotations: [String: String] = [:], status: String? = nil) throws -> Data {
        var object: [String: Any] = ["metadata": ["name": "llama-prod", "annotations": annotations], "spec": spec]
        if let status { object["status"] = ["sync": ["status": status]] }
        return try JSONSerialization.data(withJSONObject: object)
    }

    static func parse(_ patch: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(patch.utf8)) as? [String: Any])
    }

    @Test("suspending saves Argo CD's automated policy on the Application and removes it; resuming puts exactly that back and forgets it")
    func argoRoundTrip() throws {
        let automated: [String: Any] = ["prune": true, "selfHeal": false]
        let live = try Self.object(["syncPolicy": ["automated": automated, "syncOptions": ["CreateNamespace=true"]]], status: "Synced")
        let suspend = try Self.parse(try #require(GitOpsSuspension.suspendPatch(ownerJSON: live, tool: .argoCD, job: 42)))
        #expect(((suspend["spec"] as? [String: Any])?["syncPolicy"] as? [String: Any])?["automated"] is NSNull, "\(suspend)")
        #expect(((suspend["spec"] as? [String: Any])?["syncPolicy"] as? [String: Any])?.count == 1, "other sync options are left alone")
        let saved = try #require(((suspend["metadata"] as? [String: Any])?["annotations"] as? [String: Any])?[GitOpsSuspension.annotation] as? String)
        #expect(saved == #"{"automated":{"prune":true,"selfHeal":false},"job":42}"#)

        // As the object is after the merge patch.
        let suspended = try Self.object(
            ["syncPolicy": ["syncOptions": ["CreateNamespace=true"]]], annotations: [GitOpsSuspension.annotation: saved], status: "OutOfSync")
        let state = GitOpsSuspension.state(ownerJSON: suspended, tool: .argoCD)
        #expect(state?.syncing == false && state?.saved == saved && state?.syncStatus == "OutOfSync")
        let resume = try Self.parse(try GitOpsSuspension.resumePatch(ownerJSON: suspended, tool: .argoCD).get())
        let back = ((resume["spec"] as? [String: Any])?["syncPolicy"] as? [String: Any])?["automated"] as? [String: Any]
        #expect(back?["prune"] as? Bool == true && back?["selfHeal"] as? Bool == false)
        #expect(((resume["metadata"] as? [String: Any])?["annotations"] as? [String: Any])?[GitOpsSuspension.annotation] is NSNull)

        // Already on: nothing to put back. Off, but not by Coxswain: the policy is unknown.
        #expect(GitOpsSuspension.resumePatch(ownerJSON: live, tool: .argoCD) == .failure(.alreadySyncing))
        let offByHand = try Self.object(["syncPolicy": [:] as [String: Any]])
        #expect(GitOpsSuspension.resumePatch(ownerJSON: offByHand, tool: .argoCD) == .failure(.notSuspendedByCoxswain))
        // Turned on by hand meanwhile: only the note goes.
        let onAgain = try Self.object(["syncPolicy": ["automated": [:] as [String: Any]]], annotations: [GitOpsSuspension.annotation: saved])
        let forgetOnly = #"{"metadata":{"annotations":{"coxswain.dev/suspended-sync":null}}}"#
        #expect(try GitOpsSuspension.resumePatch(ownerJSON: onAgain, tool: .argoCD).get() == forgetOnly)
        let garbled = try Self.object(["syncPolicy": [:] as [String: Any]], annotations: [GitOpsSuspension.annotation: "not json"])
        guard case .failure(.unreadable(let why)) = GitOpsSuspension.resumePatch(ownerJSON: garbled, tool: .argoCD) else {
            Issue.record("a garbled annotation is not resumed from")
            return
        }
        #expect(why.contains("not json"))
    }

    @Test("Flux: suspend: true, then false; the note says which job suspended it")
    func fluxRoundTrip() throws {
        let live = try Self.object(["interval": "5m"])
        #expect(
            GitOpsSuspension.suspendPatch(ownerJSON: live, tool: .flux, job: 7)
                == #"{"metadata":{"annotations":{"coxswain.dev/suspended-sync":"{\"job\":7}"}},"spec":{"suspend":true}}"#)
        let suspended = try Self.object(["interval": "5m", "suspend": true])
        #expect(GitOpsSuspension.state(ownerJSON: suspended, tool: .flux)?.syncStatus == nil)
        #expect(
            try GitOpsSuspension.resumePatch(ownerJSON: suspended, tool: .flux).get()
                == #"{"metadata":{"annotations":{"coxswain.dev/suspended-sync":null}},"spec":{"suspend":false}}"#)
        #expect(GitOpsSuspension.resumePatch(ownerJSON: live, tool: .flux) == .failure(.alreadySyncing))
        #expect(GitOpsSuspension.suspendPatch(ownerJSON: Data("[]".utf8), tool: .flux, job: 7) == nil)
    }

    @Test("gitops: suspend in the plan, and the line the job ends with once it is suspended")
    func suspendPlan() {
        var plan = GitOpsPlan(owner: GitOpsOwner(tool: .argoCD, kind: "Application", name: "llama-prod", namespace: "argocd", autoSync: true), mode: .suspend)
        #expect(plan.suspends && plan.text.contains("its sync is suspended just before the change"))
        #expect(plan.suspendedText == nil)
        plan.suspendedUntil = "/cx-resume-sync"
        #expect(plan.suspendedText?.plainText.contains("automated sync of Application") == true && plan.suspendedText?.plainText.contains("llama-prod") == true)
        #expect(plan.suspendedText?.plainText.contains("/cx-resume-sync") == true)
        plan.owner.autoSync = false
        #expect(!plan.suspends, "nothing syncs on its own: nothing to suspend")
    }

    @Test("resume-sync: one release, --force, help; anything else is named")
    func resumeSyncCommand() throws {
        let catalog = CommandCatalog(prefix: "cx-", runbooks: try RepositoryFiles.runbooks())
        func parse(_ text: String) -> Result<ParsedCommand, CommandError> {
            catalog.parse(verb: "resume-sync", text: text, invoked: "/cx-resume-sync", style: .slash)
        }
        func refusal(_ text: String) -> String? { if case .failure(let error) = parse(text) { error.message } else { nil } }
        #expect(try parse("llama-2-7b-production").get() == .resumeSync(release: "llama-2-7b-production", force: false))
        #expect(try parse("--force llama-2-7b-production").get() == .resumeSync(release: "llama-2-7b-production", force: true))
        #expect(refusal("")?.contains("takes one release") == true)
        #expect(refusal("a b")?.contains("takes one release") == true)
        #expect(refusal("llama --now")?.contains("the only option is `--force`") == true)
        #expect(refusal("Llama_2")?.contains("is not a valid release name") == true)
        guard case .help(let help) = try parse("help").get() else {
            Issue.record("help")
            return
        }
        #expect(help.contains("OutOfSync"))
        #expect(catalog.overview(.slash).contains("/cx-resume-sync RELEASE"))
        #expect(catalog.descriptions().contains { $0.command == "/cx-resume-sync" })
    }
}

