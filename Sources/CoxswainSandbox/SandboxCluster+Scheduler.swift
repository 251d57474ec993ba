import Foundation

/// A node of the sandbox cluster and the GPUs it has to give.
public struct SandboxNode: Sendable {
    public var name: String
    public var gpus: Int
    /// The extended resource the sandbox's GPUs are counted in, as NVIDIA's device plugin names it.
    public static let gpuResource = "nvidia.com/gpu"
    /// Room for every release the sandbox installs and their rollouts' surges.
    public static let roomy: [SandboxNode] = (1...4).map { SandboxNode(name: "gpu-node-\($0)", gpus: 8) }

    public init(name: String, gpus: Int) {
        self.name = name
        self.gpus = gpus
    }

    var json: JSON {
        let resources = JSON(["cpu": "32", "memory": "263856128Ki", "pods": "110", Self.gpuResource: String(gpus)])
        return [
            "apiVersion": "v1", "kind": "Node",
            "metadata": [
                "name": .string(name),
                "labels": ["kubernetes.io/hostname": .string(name), "kubernetes.io/os": "linux", "nvidia.com/gpu.present": "true"],
            ],
            "spec": [:],
            "status": [
                "capacity": resources, "allocatable": resources,
                "conditions": [["type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"]],
                "nodeInfo": ["kubeletVersion": "v1.32.3", "containerRuntimeVersion": "containerd://1.7.27", "architecture": "amd64"],
            ],
        ]
    }
}

/// The scheduler, for the one thing the runbooks meet it for: extended resources (GPUs). A
/// pod is bound to the first node with enough of each it requests left; one that fits
/// nowhere stays `Pending` with the message kube-scheduler gives, and is placed once
/// something frees room.
extension SandboxCluster {
    /// The extended resources (names with a `/`) a pod asks for: its requests, or its limits,
    /// which is what an extended resource's request defaults to.
    static func extendedRequests(_ pod: JSON) -> [String: Int] {
        var total: [String: Int] = [:]
        // A manifest may write a quantity as a number (`nvidia.com/gpu: 1`); the API server keeps it as given here.
        func counts(_ map: JSON) -> [String: Int] { (map.object ?? [:]).compactMapValues(\.int) }
        for container in pod[path: "spec.containers"].array ?? [] {
            let requests = counts(container[path: "resources.requests"]), limits = counts(container[path: "resources.limits"])
            for (name, value) in limits.merging(requests, uniquingKeysWith: { $1 }) where name.contains("/") { total[name, default: 0] += value }
        }
        return total
    }

    /// What each node has left of each extended resource.
    func freeResources() -> [(node: String, free: [String: Int])] {
        let pods = store.list(.pods, namespace: nil, labels: .everything, fields: .everything).filter {
            !["Succeeded", "Failed"].contains($0[path: "status.phase"].string ?? "")
        }
        return store.list(.nodes, namespace: nil, labels: .everything, fields: .everything).map { node in
            let name = node[path: "metadata.name"].string ?? ""
            var free = node[path: "status.allocatable"].stringMap.filter { $0.key.contains("/") }.compactMapValues { Int($0) }
            for pod in pods where pod[path: "spec.nodeName"].string == name {
                for (resource, count) in Self.extendedRequests(pod) { free[resource, default: 0] -= count }
            }
            return (name, free)
        }
    }

    /// Binds every pod not yet on a node that fits somewhere, oldest first.
    func schedulePods() {
        let waiting = store.list(.pods, namespace: nil, labels: .everything, fields: .everything)
            .filter { $0[path: "spec.nodeName"].string == nil && PodBehaviour(pod: $0) != .nogpu }
            .sorted { Self.version($0) < Self.version($1) }
        for pod in waiting {
            let wants = Self.extendedRequests(pod)
            guard let node = freeResources().first(where: { node in wants.allSatisfy { (node.free[$0.key] ?? 0) >= $0.value } }) else { continue }
            var bound = pod
            bound[path: "spec.nodeName"] = .string(node.node)
            _ = try? store.replace(.pods, namespace: pod[path: "metadata.namespace"].string, name: pod[path: "metadata.name"].string ?? "", bound)
            podStarted[Self.key(pod)] = Date()
        }
    }

    private static func version(_ object: JSON) -> Int { object[path: "metadata.resourceVersion"].string.flatMap { Int($0) } ?? 0 }

    /// Why a pod is not on a node, as kube-scheduler words it; nil for a pod that is on one.
    func unschedulableMessage(_ pod: JSON) -> String? {
        guard pod[path: "spec.nodeName"].string == nil else { return nil }
        let nodes = freeResources()
        let wants = Self.extendedRequests(pod)
        var reasons: [String: Int] = [:]
        for node in nodes {
            for (resource, count) in wants.sorted(by: { $0.key < $1.key }) where (node.free[resource] ?? 0) < count || PodBehaviour(pod: pod) == .nogpu {
                reasons["Insufficient \(resource)", default: 0] += 1
            }
        }
        if reasons.isEmpty { reasons["Insufficient \(SandboxNode.gpuResource)"] = nodes.count }
        let listed = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return "0/\(nodes.count) nodes are available: \(listed). preemption: 0/\(nodes.count) nodes are available: "
            + "\(nodes.count) No preemption victims found for incoming pod."
    }
}
