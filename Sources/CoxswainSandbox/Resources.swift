import Foundation

/// A kind of object the sandbox API serves, with what discovery says of it.
struct ResourceType: Sendable, Hashable {
    let group: String  // "" for the core group
    let version: String
    let plural: String
    let singular: String
    let kind: String
    let namespaced: Bool
    let shortNames: [String]

    var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// How error messages name it: `deployments.apps`, `pods`.
    var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }
    var hasStatus: Bool {
        ["pods", "deployments", "replicasets", "namespaces", "nodes", "services", "persistentvolumeclaims", "ingresses"].contains(plural)
    }

    static let namespaces = ResourceType(
        group: "", version: "v1", plural: "namespaces", singular: "namespace", kind: "Namespace", namespaced: false, shortNames: ["ns"])
    static let pods = ResourceType(group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod", namespaced: true, shortNames: ["po"])
    static let nodes = ResourceType(group: "", version: "v1", plural: "nodes", singular: "node", kind: "Node", namespaced: false, shortNames: ["no"])
    static let secrets = ResourceType(
        group: "", version: "v1", plural: "secrets", singular: "secret", kind: "Secret", namespaced: true, shortNames: [])
    static let configMaps = ResourceType(
        group: "", version: "v1", plural: "configmaps", singular: "configmap", kind: "ConfigMap", namespaced: true, shortNames: ["cm"])
    static let services = ResourceType(
        group: "", version: "v1", plural: "services", singular: "service", kind: "Service", namespaced: true, shortNames: ["svc"])
    static let serviceAccounts = ResourceType(
        group: "", version: "v1", plural: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount", namespaced: true,
        shortNames: ["sa"])
    static let events = ResourceType(group: "", version: "v1", plural: "events", singular: "event", kind: "Event", namespaced: true, shortNames: ["ev"])
    static let deployments = ResourceType(
        group: "apps", version: "v1", plural: "deployments", singular: "deployment", kind: "Deployment", namespaced: true,
        shortNames: ["deploy"])
    static let replicaSets = ResourceType(
        group: "apps", version: "v1", plural: "replicasets", singular: "replicaset", kind: "ReplicaSet", namespaced: true, shortNames: ["rs"])

    static let persistentVolumeClaims = ResourceType(
        group: "", version: "v1", plural: "persistentvolumeclaims", singular: "persistentvolumeclaim", kind: "PersistentVolumeClaim",
        namespaced: true, shortNames: ["pvc"])
    static let roles = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", singular: "role", kind: "Role", namespaced: true, shortNames: [])
    static let roleBindings = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", singular: "rolebinding", kind: "RoleBinding", namespaced: true,
        shortNames: [])
    static let clusterRoles = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterroles", singular: "clusterrole", kind: "ClusterRole", namespaced: false,
        shortNames: [])
    static let clusterRoleBindings = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings", singular: "clusterrolebinding", kind: "ClusterRoleBinding",
        namespaced: false, shortNames: [])
    /// What GitOps controllers keep in the cluster: Argo CD's Applications, Flux's HelmReleases and Kustomizations.
    static let applications = ResourceType(
        group: "argoproj.io", version: "v1alpha1", plural: "applications", singular: "application", kind: "Application", namespaced: true,
        shortNames: ["app", "apps"])
    static let helmReleases = ResourceType(
        group: "helm.toolkit.fluxcd.io", version: "v2", plural: "helmreleases", singular: "helmrelease", kind: "HelmRelease", namespaced: true,
        shortNames: ["hr"])
    static let kustomizations = ResourceType(
        group: "kustomize.toolkit.fluxcd.io", version: "v1", plural: "kustomizations", singular: "kustomization", kind: "Kustomization",
        namespaced: true, shortNames: ["ks"])
    static let ingresses = ResourceType(
        group: "networking.k8s.io", version: "v1", plural: "ingresses", singular: "ingress", kind: "Ingress", namespaced: true, shortNames: ["ing"])
    static let networkPolicies = ResourceType(
        group: "networking.k8s.io", version: "v1", plural: "networkpolicies", singular: "networkpolicy", kind: "NetworkPolicy", namespaced: true,
        shortNames: ["netpol"])

    static let all: [ResourceType] = [
        namespaces, nodes, pods, secrets, configMaps, services, serviceAccounts, events, persistentVolumeClaims, deployments, replicaSets, roles,
        roleBindings, clusterRoles, clusterRoleBindings, ingresses, networkPolicies, applications, helmReleases, kustomizations,
    ]

    static func find(groupVersion: String, plural: String) -> ResourceType? {
        all.first { $0.groupVersion == groupVersion && $0.plural == plural }
    }

    static let verbs: JSON = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    var discoveryEntry: JSON {
        var entry: JSON = [
            "name": .string(plural), "singularName": .string(singular), "namespaced": .bool(namespaced), "kind": .string(kind),
            "verbs": Self.verbs,
        ]
        if !shortNames.isEmpty { entry["shortNames"] = .array(shortNames.map { .string($0) }) }
        if ["pods", "services", "deployments", "replicasets"].contains(plural) { entry["categories"] = ["all"] }
        return entry
    }

    /// What `GET /api/v1` and `GET /apis/apps/v1` answer: the resources of a group version.
    static func resourceList(groupVersion: String) -> JSON? {
        let types = all.filter { $0.groupVersion == groupVersion }
        guard !types.isEmpty else { return nil }
        var resources = types.map(\.discoveryEntry)
        for type in types where type.hasStatus {
            resources.append([
                "name": .string("\(type.plural)/status"), "singularName": "", "namespaced": .bool(type.namespaced), "kind": .string(type.kind),
                "verbs": ["get", "patch", "update"],
            ])
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(resources)]
    }

    static let coreVersions: JSON = [
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]],
    ]

    /// `GET /apis`: every group the sandbox serves, from the types above.
    static var groups: JSON {
        var groups: [(name: String, version: String)] = []
        for type in all where !type.group.isEmpty && !groups.contains(where: { $0.name == type.group }) { groups.append((type.group, type.version)) }
        return [
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": .array(
                groups.map { group in
                    let version: JSON = ["groupVersion": .string("\(group.name)/\(group.version)"), "version": .string(group.version)]
                    return ["name": .string(group.name), "versions": [version], "preferredVersion": version]
                }),
        ]
    }
}
