@testable import CoxswainSandbox
import Foundation
import Testing

/// The sandbox's failure summary, which a sandbox test records when helm's or kubectl's wait ran
/// out: it must say which versions each watch was sent and what each Deployment change
/// reported, so a change no watch carried can be told from one the client misread.
@Suite("the sandbox's failure summary")
struct SandboxSummaryTests {
    @Test("names the versions a watch was sent, at once and after, and each Deployment change's ready and available counts")
    func watchesAndChanges() async throws {
        let cluster = SandboxCluster(timing: PodTiming(ready: .milliseconds(100)), namespaces: ["staging"])
        let deployment = try JSON.parse(Data("""
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "llama", "namespace": "staging"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "llama"}},
                      "template": {"metadata": {"labels": {"app": "llama"}},
                                   "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:0.6.0"}]}}}}
            """.utf8))
        _ = try await cluster.create(.deployments, namespace: "staging", deployment)
        let events = await cluster.watch(
            .deployments, namespace: "staging", labels: .everything, fields: .everything, resourceVersion: nil, sendInitialEvents: true,
            timeout: .seconds(60))
        // The pod becomes ready by itself; the watch then carries the Deployment's change to available.
        var available: Int?
        for await event in events where event["type"].string == "MODIFIED" && event[path: "object.status.availableReplicas"].int == 1 {
            available = event[path: "object.metadata.resourceVersion"].string.flatMap(Int.init)
            break
        }
        let version = try #require(available)
        let summary = await cluster.summary()
        await cluster.endWatches()
        #expect(summary.contains(/watch deployments in staging from none \(initial events\), sent at once: \[\d+, bookmark \d+\]/), "\(summary)")
        let watchLine = summary.split(separator: "\n").first { $0.hasPrefix("watch deployments") } ?? ""
        #expect(watchLine.contains("events sent since, the last at resource versions [") && watchLine.hasSuffix("\(version)]"), "\(summary)")
        #expect(summary.contains("\(version) MODIFIED (ready 1 available 1)"), "\(summary)")
    }
}
