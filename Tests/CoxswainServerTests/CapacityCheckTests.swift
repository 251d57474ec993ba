import CoxswainCore
import Foundation
import Testing

/// The capacity check's decisions with the stand-in kubectl (its nodes, pods and Deployments as
/// kubectl prints them): production's two pods fill the one GPU node, so the rollback's extra
/// pod has nowhere to go.
@Suite("the capacity check")
struct CapacityCheckTests {
    static func fullPool() -> [String: Any] {
        let release = RollbackEndToEndTests.release
        var state = StandInCluster.standardRelease()
        state["gpu_deployments"] = [release: ["namespace": "production", "replicas": 2, "gpus": 1]]
        state["nodes"] = [["name": "gpu-a", "gpus": 2]]
        state["pods"] = ["x7k2m", "q9z4w"].map {
            var pod = StandInCluster.pod("\(release)-7b8f9d5c-\($0)", release: release, namespace: "production", ready: true)
            pod["node"] = "gpu-a"
            pod["gpus"] = 1
            return pod
        }
        return state
    }

    @Test("by default nothing changes: the job stops at the check and says what it needs, what is free and what the environment could allow")
    func stops() async throws {
        try await Harness.run(cluster: Self.fullPool()) { h in
            let job = try await h.runToEnd(RollbackEndToEndTests.release)
            let text = try await h.liveMessageText(job: job)
            #expect(job.state == .failed && text.contains("❌ Check GPU capacity"), "\(text)")
            #expect(text.contains("needs 1 more GPU during the rollout (1 extra pod × 1); 0 free; nothing was changed"), "\(text)")
            #expect(text.contains("Make room for 1 more pod of 1"), "\(text)")
            #expect(!(try h.cluster.calls().contains { $0.prefix(2) == ["helm", "rollback"] }))
            #expect(try await h.registryStatus() == .ready)
        }
    }

    @Test("capacity.when_short: proceed goes ahead and says the new pod waits for a GPU; the audit trail records the choice")
    func proceeds() async throws {
        try await Harness.run(cluster: Self.fullPool(), production: ", capacity: { when_short: proceed }") { h in
            let job = try await h.runToEnd(RollbackEndToEndTests.release)
            let text = try await h.liveMessageText(job: job)
            #expect(job.state == .succeeded, "\(text)")
            #expect(text.contains("0 free: it will not fit; going ahead (capacity.when_short: proceed)"), "\(text)")
            let audit = try await h.database.entries(jobID: job.id).first { $0.event == "step.capacity.check.succeeded" }
            #expect(audit?.detail.contains("going ahead (capacity.when_short: proceed)") == true, "\(String(describing: audit))")
            #expect(job.plan?.capacity?.whenShort == .proceed)
        }
    }
}
