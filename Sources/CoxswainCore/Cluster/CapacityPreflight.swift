import Foundation

/// Whether a rollout's extra pods fit on the GPUs left, decided before anything changes.
/// vLLM charts roll with `maxSurge` > 0: until the old pods go, the new ones need GPUs of their
/// own, and on a full pool they stay `Pending` until helm's timeout.
public struct CapacityVerdict: Sendable, Equatable, Codable {
    /// The Deployment judged, and its strategy as written (nil: unset, Kubernetes' 25 %), to be put
    /// back after a capacity-neutral rollout.
    public var deployment: String
    public var maxSurge: String?
    public var maxUnavailable: String?
    /// The extended resource judged (`nvidia.com/gpu`).
    public var resource: String
    public var replicas: Int
    /// Of `resource`, for each pod.
    public var perPod: Int
    /// Pods the rollout adds at its peak (maxSurge; 0 for Recreate).
    public var surgePods: Int
    /// Pods the rollout may take down before their replacements are ready (maxUnavailable).
    public var unavailablePods: Int
    /// `resource` free on schedulable nodes, in all, and how many of the surge pods fit on them.
    public var free: Int
    public var podsThatFit: Int
    public var recreate: Bool

    public var needed: Int { surgePods * perPod }
    /// The surge pods fit, or the rollout can make room by taking old pods down first.
    public var fits: Bool { recreate || podsThatFit >= surgePods || unavailablePods > 0 }

    /// "needs 2 more GPUs during the rollout; 1 free"
    public var text: String {
        let unit = resource.hasSuffix("/gpu") ? "GPU" : resource
        let more = unit == "GPU" && needed != 1 ? "\(needed) more GPUs" : "\(needed) more \(unit)"
        if recreate { return "Recreate: the old pods stop before new ones start, so no more \(unit) is needed; \(free) free" }
        var line = "needs \(more) during the rollout (\(surgePods) extra pod\(surgePods == 1 ? "" : "s") × \(perPod)); \(free) free"
        if podsThatFit < surgePods && unavailablePods > 0 {
            line += "; it makes room by replacing up to \(unavailablePods) pod\(unavailablePods == 1 ? "" : "s") at a time first"
        }
        return line
    }

    /// The merge patch that puts the strategy back as it was written (null: Kubernetes' default).
    public var restoringPatch: String {
        func value(_ text: String?) -> String { text.map { Int($0) != nil ? $0 : "\"\($0)\"" } ?? "null" }
        return #"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":\#(value(maxSurge)),"maxUnavailable":\#(value(maxUnavailable))}}}}"#
    }

    /// The merge patch of a capacity-neutral rollout: no extra pod, one replaced at a time.
    public static func neutralPatch(paused: Bool) -> String {
        #"{"spec":{"paused":\#(paused),"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}"#
    }

    /// What a capacity-neutral rollout (no surge, one pod at a time) costs while it runs.
    public var neutralCost: String {
        "serving capacity drops to \(max(0, replicas - 1)) of \(replicas) pods while each pod is replaced (weights load again each time)"
    }
}

/// What an environment does when a rollout will not fit (`capacity.when_short`).
public enum CapacityWhenShort: String, Sendable, Equatable, Codable, CaseIterable {
    /// Nothing is changed; the job says what would fit and how.
    case stop
    /// The change goes ahead; the new pods wait `Pending` until GPUs free up.
    case proceed
    /// No extra pod: the rollout replaces one pod at a time (maxSurge 0, maxUnavailable 1).
    case neutral
}

/// The capacity part of a plan, as the approver sees it.
public struct CapacityPlan: Sendable, Equatable, Codable {
    public var verdict: CapacityVerdict
    /// nil when it fits; otherwise what the environment said to do.
    public var whenShort: CapacityWhenShort?

    public init(verdict: CapacityVerdict, whenShort: CapacityWhenShort?) {
        self.verdict = verdict
        self.whenShort = verdict.fits ? nil : whenShort
    }

    public var rollsOutNeutral: Bool { whenShort == .neutral }

    public var text: String {
        switch whenShort {
        case nil: verdict.text
        case .stop: "\(verdict.text): it will not fit"
        case .proceed: "\(verdict.text): it will not fit; going ahead (capacity.when_short: proceed), new pods wait Pending until GPUs free up"
        case .neutral: "\(verdict.text): it will not fit, so it rolls out capacity-neutral, one pod at a time: \(verdict.neutralCost)"
        }
    }
}

/// Reads `kubectl get deployments|nodes|pods -o json` and judges the release's rollout.
public enum CapacityPreflight {
    public enum Finding: Sendable, Equatable {
        /// The release's pods request none of the GPU resources: nothing to judge.
        case noGPUs
        case verdict(CapacityVerdict)
    }

    public struct Unreadable: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - deployments: the release's Deployments; `nodes`: every node; `pods`: every pod on a node.
    ///   - resources: the GPU resources to count, in order (`nvidia.com/gpu` and any the configuration adds).
    public static func judge(deployments: Data, nodes: Data, pods: Data, resources: [String]) throws(Unreadable) -> Finding {
        let decoder = JSONDecoder()
        let parsed: (List<Deployment>, List<Node>, List<Pod>)
        do {
            parsed = (
                try decoder.decode(List<Deployment>.self, from: deployments), try decoder.decode(List<Node>.self, from: nodes),
                try decoder.decode(List<Pod>.self, from: pods)
            )
        } catch {
            throw Unreadable(description: "kubectl's answer is not the list it should be (\(error))")
        }
        var free: [String: Int] = [:]  // node -> units of the resource left
        let live = parsed.2.items.filter { !["Succeeded", "Failed"].contains($0.status?.phase ?? "") }
        for deployment in parsed.0.items {
            let wants = requests(deployment.spec.template.spec.containers)
            guard let resource = resources.first(where: { (wants[$0] ?? 0) > 0 }), let perPod = wants[resource] else { continue }
            for node in parsed.1.items where node.spec?.unschedulable != true {
                let allocatable = node.status?.allocatable?[resource]?.text.flatMap { Int($0) } ?? 0
                let used = live.filter { $0.spec?.nodeName == node.metadata.name }.reduce(0) { $0 + (requests($1.spec?.containers ?? [])[resource] ?? 0) }
                free[node.metadata.name] = max(0, allocatable - used)
            }
            let replicas = deployment.spec.replicas ?? 1
            let rolling = deployment.spec.strategy?.rollingUpdate
            var surge = count(rolling?.maxSurge?.text, of: replicas, roundUp: true)
            var unavailable = count(rolling?.maxUnavailable?.text, of: replicas, roundUp: false)
            if surge == 0 && unavailable == 0 { unavailable = 1 }
            let recreate = deployment.spec.strategy?.type == "Recreate"
            if recreate { (surge, unavailable) = (0, replicas) }
            let fitting = free.values.reduce(0) { $0 + $1 / perPod }
            return .verdict(
                CapacityVerdict(
                    deployment: deployment.metadata.name, maxSurge: rolling?.maxSurge?.text, maxUnavailable: rolling?.maxUnavailable?.text,
                    resource: resource, replicas: replicas, perPod: perPod, surgePods: surge, unavailablePods: unavailable,
                    free: free.values.reduce(0, +), podsThatFit: min(fitting, surge), recreate: recreate))
        }
        return .noGPUs
    }

    /// Extended resources requested by containers: requests, or limits (what a request defaults to).
    static func requests(_ containers: [Container]) -> [String: Int] {
        var total: [String: Int] = [:]
        for container in containers {
            let limits = container.resources?.limits ?? [:], requests = container.resources?.requests ?? [:]
            for (name, value) in limits.merging(requests, uniquingKeysWith: { $1 }) { total[name, default: 0] += value.text.flatMap { Int($0) } ?? 0 }
        }
        return total
    }

    /// maxSurge / maxUnavailable as Kubernetes resolves them: a count, or a percentage of
    /// replicas rounded up for surge and down for unavailability; 25 % when unset.
    public static func count(_ text: String?, of replicas: Int, roundUp: Bool) -> Int {
        let text = text ?? "25%"
        guard text.hasSuffix("%"), let percent = Double(text.dropLast()) else { return max(0, Int(text) ?? 0) }
        let exact = Double(replicas) * percent / 100
        return Int(roundUp ? exact.rounded(.up) : exact.rounded(.down))
    }

    struct List<Item: Decodable>: Decodable { var items: [Item] }
    struct Container: Decodable {
        struct Resources: Decodable {
            var limits: [String: Quantity]?
            var requests: [String: Quantity]?
        }
        var resources: Resources?
    }
    struct Deployment: Decodable {
        struct Metadata: Decodable { var name: String }
        struct Spec: Decodable {
            struct Strategy: Decodable {
                struct Rolling: Decodable {
                    var maxSurge: Quantity?
                    var maxUnavailable: Quantity?
                }
                var type: String?
                var rollingUpdate: Rolling?
            }
            struct Template: Decodable {
                struct PodSpec: Decodable { var containers: [Container] }
                var spec: PodSpec
            }
            var replicas: Int?
            var strategy: Strategy?
            var template: Template
        }
        var metadata: Metadata
        var spec: Spec
    }
    struct Node: Decodable {
        struct Metadata: Decodable { var name: String }
        struct Spec: Decodable { var unschedulable: Bool? }
        struct Status: Decodable { var allocatable: [String: Quantity]? }
        var metadata: Metadata
        var spec: Spec?
        var status: Status?
    }
    struct Pod: Decodable {
        struct Spec: Decodable {
            var nodeName: String?
            var containers: [Container]?
        }
        struct Status: Decodable { var phase: String? }
        var spec: Spec?
        var status: Status?
    }
}
