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

    @Test("gitops: warn by default, refuse per environment; the Argo CD namespace; mistakes named")
    func configuration() throws {
        let yaml = "cluster: { argocd_namespace: gitops }\nenvironments: { p: { namespace: p, gitops: refuse }, s: { namespace: s } }\nreleases: {}"
        let parsed = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml")
        #expect(parsed.environments["p"]?.gitopsMode == .refuse && parsed.environments["s"]?.gitopsMode == .warn)
        #expect(parsed.cluster.argoCDNamespace == "gitops")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: "environments: { p: { namespace: p, gitops: suspnd } }\nreleases: {}", file: "c.yaml")
        }
        do {
            _ = try ConfigurationLoader.parse(yaml: "environments: { p: { namespace: p, gitops: pause } }\nreleases: {}", file: "c.yaml")
            Issue.record("accepted gitops: pause")
        } catch {
            #expect("\(error)".contains("environments.p.gitops: must be warn (the plan says Argo CD or Flux syncs the release"), "\(error)")
        }
    }
}
