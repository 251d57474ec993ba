import Foundation

/// The GitOps controller that keeps a release as Git says, found from the labels and
/// annotations Argo CD and Flux put on what they apply. With automated sync it would undo a
/// rollback within minutes, silently; the plan says so before anyone approves.
public struct GitOpsOwner: Sendable, Equatable, Codable {
    public enum Tool: String, Sendable, Codable {
        case argoCD = "Argo CD"
        case flux = "Flux"
    }

    public var tool: Tool
    /// `Application`, `HelmRelease` or `Kustomization`.
    public var kind: String
    public var name: String
    public var namespace: String
    /// Whether it applies Git on its own (Argo CD automated sync; a Flux object not suspended);
    /// nil when it could not be read.
    public var autoSync: Bool?

    public init(tool: Tool, kind: String, name: String, namespace: String, autoSync: Bool? = nil) {
        self.tool = tool; self.kind = kind; self.name = name; self.namespace = namespace; self.autoSync = autoSync
    }

    /// How kubectl names the object's resource: `applications.argoproj.io`.
    public var resource: String {
        switch kind {
        case "Application": "applications.argoproj.io"
        case "HelmRelease": "helmreleases.helm.toolkit.fluxcd.io"
        default: "kustomizations.kustomize.toolkit.fluxcd.io"
        }
    }

    /// "Argo CD Application llama-production (namespace argocd), automated sync on"
    public var text: String {
        let sync: String
        switch autoSync {
        case true?: sync = tool == .argoCD ? "automated sync on" : "reconciling (not suspended)"
        case false?: sync = tool == .argoCD ? "automated sync off" : "suspended"
        case nil: sync = "sync state unknown"
        }
        return "\(tool.rawValue) \(kind) \(name) (namespace \(namespace)), \(sync)"
    }

    /// The owner named by a Deployment's labels and annotations, if any. Argo CD: its
    /// tracking annotation (`APP:GROUP/KIND:NAMESPACE/NAME`, `APPNS_APP` for Applications
    /// outside `argoNamespace`) or the `argocd.argoproj.io/instance` label; Flux: the
    /// helm-controller's or kustomize-controller's name and namespace labels.
    public static func owner(labels: [String: String], annotations: [String: String], argoNamespace: String) -> GitOpsOwner? {
        if let name = labels["helm.toolkit.fluxcd.io/name"] {
            return GitOpsOwner(tool: .flux, kind: "HelmRelease", name: name, namespace: labels["helm.toolkit.fluxcd.io/namespace"] ?? "flux-system")
        }
        if let name = labels["kustomize.toolkit.fluxcd.io/name"] {
            return GitOpsOwner(
                tool: .flux, kind: "Kustomization", name: name, namespace: labels["kustomize.toolkit.fluxcd.io/namespace"] ?? "flux-system")
        }
        let tracked = annotations["argocd.argoproj.io/tracking-id"].flatMap { $0.split(separator: ":").first.map(String.init) }
        guard let application = tracked ?? labels["argocd.argoproj.io/instance"], !application.isEmpty else { return nil }
        let parts = application.split(separator: "_", maxSplits: 1).map(String.init)
        return parts.count == 2
            ? GitOpsOwner(tool: .argoCD, kind: "Application", name: parts[1], namespace: parts[0])
            : GitOpsOwner(tool: .argoCD, kind: "Application", name: application, namespace: argoNamespace)
    }

    /// The owner of the first of `kubectl get deployments -o json`'s items that has one.
    public static func owner(deploymentsJSON: Data, argoNamespace: String) throws(CapacityPreflight.Unreadable) -> GitOpsOwner? {
        struct List: Decodable {
            struct Item: Decodable {
                struct Metadata: Decodable {
                    var labels: [String: String]?
                    var annotations: [String: String]?
                }
                var metadata: Metadata
            }
            var items: [Item]
        }
        guard let list = try? JSONDecoder().decode(List.self, from: deploymentsJSON) else {
            throw CapacityPreflight.Unreadable(description: "kubectl get deployments printed something that is not its list")
        }
        return list.items.lazy.compactMap {
            owner(labels: $0.metadata.labels ?? [:], annotations: $0.metadata.annotations ?? [:], argoNamespace: argoNamespace)
        }.first
    }

    /// Whether the owner object (`kubectl get RESOURCE NAME -o json`) applies Git on its own:
    /// an Argo CD Application with `spec.syncPolicy.automated` (not `enabled: false`), a Flux
    /// object without `spec.suspend: true`.
    public static func autoSync(ownerJSON: Data, tool: Tool) -> Bool? {
        guard let object = (try? JSONSerialization.jsonObject(with: ownerJSON)) as? [String: Any], let spec = object["spec"] as? [String: Any] else {
            return nil
        }
        switch tool {
        case .argoCD:
            guard let automated = (spec["syncPolicy"] as? [String: Any])?["automated"] as? [String: Any] else { return false }
            return automated["enabled"] as? Bool ?? true
        case .flux:
            return spec["suspend"] as? Bool != true
        }
    }
}

/// What an environment does with a release a GitOps controller syncs (`gitops:`).
public enum GitOpsMode: String, Sendable, Equatable, Codable, CaseIterable {
    /// The plan says who owns the release; the change goes ahead.
    case warn
    /// A release whose owner syncs on its own is not changed: the change belongs in Git.
    case refuse
    /// The owner's automated sync is suspended just before the change and stays so until
    /// `/resume-sync`, once the change is in Git.
    case suspend
}

/// The GitOps part of a plan, as the approver reads it.
public struct GitOpsPlan: Sendable, Equatable, Codable {
    public var owner: GitOpsOwner
    public var mode: GitOpsMode
    /// The command that resumes sync (`/resume-sync`, with the command prefix), once the change
    /// step suspended it; nil while it is not suspended.
    public var suspendedUntil: String?

    public init(owner: GitOpsOwner, mode: GitOpsMode) {
        self.owner = owner
        self.mode = mode
    }

    /// Whether the owner would put back what Git says after the change.
    public var undoes: Bool { owner.autoSync != false }
    /// Whether the change step suspends the owner's sync first.
    public var suspends: Bool { mode == .suspend && undoes }

    public var text: String {
        guard undoes else { return "managed by \(owner.text): nothing re-applies Git on its own; make the same change in Git" }
        if suspends {
            return "managed by \(owner.text): its sync is suspended just before the change so that it cannot undo it, "
                + "and stays suspended until the change is in Git and someone resumes it"
        }
        return "managed by \(owner.text): it may put back what Git says and undo this change; make the same change in Git"
    }

    /// The closing line of a job that suspended sync: what the team does next.
    public var suspendedText: RichText? {
        guard let command = suspendedUntil else { return nil }
        let what = owner.tool == .argoCD ? "automated sync" : "reconciliation"
        return "⏸️ \(strong: "GitOps:") \(owner.tool.rawValue)'s \(what) of \(owner.kind) \(code: owner.name) stays suspended. "
            + "Make the same change in Git, then \(code: command) puts it back; until then Git and the cluster differ."
    }
}
