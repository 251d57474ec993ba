import CoxswainCore
import Foundation
import Testing

/// The capacity check's arithmetic on what kubectl prints: maxSurge as Kubernetes resolves it,
/// free GPUs per node, fragmentation, and the words the approver reads.
@Suite struct CapacityPreflightTests {
    static func list(_ items: [[String: Any]]) -> Data {
        try! JSONSerialization.data(withJSONObject: ["apiVersion": "v1", "kind": "List", "items": items])
    }

    static func deployment(replicas: Int = 2, gpus: Int = 1, resource: String = "nvidia.com/gpu", strategy: [String: Any]? = nil) -> Data {
        var spec: [String: Any] = [
            "replicas": replicas,
            "template": ["spec": ["containers": [["name": "vllm", "resources": ["limits": [resource: "\(gpus)", "memory": "40Gi"]]]]]],
        ]
        if let strategy { spec["strategy"] = strategy }
        return list([["metadata": ["name": "llama"], "spec": spec]])
    }

    static func nodes(_ gpus: [String: Int], cordoned: Set<String> = [], resource: String = "nvidia.com/gpu") -> Data {
        list(
            gpus.map { name, count in
                ["metadata": ["name": name], "spec": ["unschedulable": cordoned.contains(name)], "status": ["allocatable": ["cpu": "32", resource: "\(count)"]]]
            })
    }

    /// Pods on nodes: node -> GPUs each pod there takes.
    static func pods(_ placed: [(node: String, gpus: Int)], phase: String = "Running", resource: String = "nvidia.com/gpu") -> Data {
        list(
            placed.map { pod in
                [
                    "spec": ["nodeName": pod.node, "containers": [["name": "c", "resources": ["requests": [resource: pod.gpus]]]]],
                    "status": ["phase": phase],
                ]
            })
    }

    static func verdict(
        _ deployment: Data, _ nodes: Data, _ pods: Data, resources: [String] = ["nvidia.com/gpu"]
    ) throws -> CapacityVerdict {
        let finding = try CapacityPreflight.judge(deployments: deployment, nodes: nodes, pods: pods, resources: resources)
        guard case .verdict(let verdict) = finding else { throw NoVerdict() }
        return verdict
    }

    struct NoVerdict: Error {}

    @Test("a full pool: the default 25 % surge of 2 replicas needs one more GPU, none is free, it does not fit")
    func fullPool() throws {
        let full = try Self.verdict(
            Self.deployment(), Self.nodes(["a": 2, "b": 2]), Self.pods([("a", 1), ("a", 1), ("b", 1), ("b", 1)]))
        #expect(!full.fits && full.surgePods == 1 && full.unavailablePods == 0 && full.free == 0)
        #expect(full.text == "needs 1 more GPU during the rollout (1 extra pod × 1); 0 free")
        #expect(full.neutralCost.hasPrefix("serving capacity drops to 1 of 2 pods"))
        let roomy = try Self.verdict(Self.deployment(), Self.nodes(["a": 4, "b": 2]), Self.pods([("a", 1), ("b", 1)]))
        #expect(roomy.fits && roomy.text == "needs 1 more GPU during the rollout (1 extra pod × 1); 4 free")
    }

    @Test("GPUs free on two nodes do not make one pod that needs two on one node")
    func fragmentation() throws {
        let split = try Self.verdict(Self.deployment(gpus: 2), Self.nodes(["a": 4, "b": 4]), Self.pods([("a", 3), ("b", 3)]))
        #expect(!split.fits && split.free == 2 && split.podsThatFit == 0)
        #expect(split.text == "needs 2 more GPUs during the rollout (1 extra pod × 2); 2 free")
    }

    @Test("cordoned nodes give nothing; finished pods take nothing")
    func cordonedAndFinished() throws {
        let cordoned = try Self.verdict(Self.deployment(), Self.nodes(["a": 2, "b": 2], cordoned: ["b"]), Self.pods([("a", 2)]))
        #expect(!cordoned.fits && cordoned.free == 0)
        let finished = try Self.verdict(Self.deployment(), Self.nodes(["a": 2]), Self.pods([("a", 2)], phase: "Succeeded"))
        #expect(finished.fits && finished.free == 2)
    }

    @Test("maxUnavailable lets the rollout make room; Recreate needs none; maxSurge and maxUnavailable resolve as Kubernetes does")
    func strategies() throws {
        let full = (Self.nodes(["a": 2]), Self.pods([("a", 1), ("a", 1)]))
        let replacing = try Self.verdict(Self.deployment(strategy: ["rollingUpdate": ["maxSurge": 1, "maxUnavailable": 1]]), full.0, full.1)
        #expect(replacing.fits && replacing.text.hasSuffix("0 free; it makes room by replacing up to 1 pod at a time first"))
        let recreate = try Self.verdict(Self.deployment(strategy: ["type": "Recreate"]), full.0, full.1)
        #expect(recreate.fits && recreate.needed == 0 && recreate.text.hasPrefix("Recreate:"))
        #expect(CapacityPreflight.count("25%", of: 2, roundUp: true) == 1 && CapacityPreflight.count("25%", of: 2, roundUp: false) == 0)
        #expect(CapacityPreflight.count("50%", of: 3, roundUp: true) == 2 && CapacityPreflight.count(nil, of: 8, roundUp: false) == 2)
        #expect(CapacityPreflight.count("2", of: 8, roundUp: true) == 2)
        // Both resolving to zero: Kubernetes lets one pod be unavailable.
        let zero = try Self.verdict(Self.deployment(replicas: 1, strategy: ["rollingUpdate": ["maxSurge": 0, "maxUnavailable": "25%"]]), full.0, full.1)
        #expect(zero.surgePods == 0 && zero.unavailablePods == 1 && zero.fits)
    }

    @Test("pods that ask for no GPU are not judged; a second configured resource is")
    func resources() throws {
        let cpu = try CapacityPreflight.judge(
            deployments: Self.deployment(resource: "example.com/fpga"), nodes: Self.nodes(["a": 1]), pods: Self.pods([]), resources: ["nvidia.com/gpu"])
        #expect(cpu == .noGPUs)
        let amd = try Self.verdict(
            Self.deployment(resource: "amd.com/gpu"), Self.nodes(["a": 2], resource: "amd.com/gpu"), Self.pods([("a", 2)], resource: "amd.com/gpu"),
            resources: ["nvidia.com/gpu", "amd.com/gpu"])
        #expect(amd.resource == "amd.com/gpu" && !amd.fits && amd.text.contains("1 more GPU"))
        #expect(throws: CapacityPreflight.Unreadable.self) {
            try CapacityPreflight.judge(deployments: Data("<html>".utf8), nodes: Self.nodes([:]), pods: Self.pods([]), resources: ["nvidia.com/gpu"])
        }
    }

    @Test("what the approver reads for each choice an environment makes when it does not fit")
    func planTexts() throws {
        let short = try Self.verdict(Self.deployment(), Self.nodes(["a": 2]), Self.pods([("a", 1), ("a", 1)]))
        #expect(CapacityPlan(verdict: short, whenShort: .stop).text.hasSuffix("0 free: it will not fit"))
        #expect(CapacityPlan(verdict: short, whenShort: .proceed).text.contains("going ahead (capacity.when_short: proceed), new pods wait Pending"))
        let neutral = CapacityPlan(verdict: short, whenShort: .neutral)
        #expect(neutral.rollsOutNeutral && neutral.text.contains("rolls out capacity-neutral, one pod at a time: serving capacity drops to 1 of 2"))
        // After a neutral rollout the strategy goes back as it was written: unset stays unset, a count stays a number.
        #expect(short.deployment == "llama" && short.restoringPatch == #"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":null,"maxUnavailable":null}}}}"#)
        let strategy: [String: Any] = ["rollingUpdate": ["maxSurge": "50%", "maxUnavailable": 0]]
        let written = try Self.verdict(Self.deployment(strategy: strategy), Self.nodes(["a": 2]), Self.pods([]))
        #expect(written.restoringPatch == #"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":"50%","maxUnavailable":0}}}}"#)
        let neutralStrategy = #""paused":true,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}"#
        #expect(CapacityVerdict.neutralPatch(paused: true).contains(neutralStrategy))
        let fits = try Self.verdict(Self.deployment(), Self.nodes(["a": 4]), Self.pods([]))
        #expect(CapacityPlan(verdict: fits, whenShort: .neutral).whenShort == nil)
        let from = HelmRevision(revision: 5, status: "deployed", chart: "c", appVersion: "1", description: "")
        var plan = RollbackPlan(from: from, to: HelmRevision(revision: 4, status: "superseded", chart: "c", appVersion: "0", description: ""))
        plan.capacity = neutral
        #expect(RollbackPlan(json: plan.json) == plan && plan.asDecided.capacity == nil && plan.key == "5->4")
    }
}
