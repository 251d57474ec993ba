import CoxswainCore
import Foundation
import Testing

/// Pods as `kubectl get pods -o json` prints them, one per state a vLLM rollout passes through.
@Suite("following a rollout's pods")
struct RolloutWatchTests {
    static let start = Date(timeIntervalSince1970: 1_796_000_000)

    static func pod(_ name: String, phase: String, status: String = "", limits: String = #"{"nvidia.com/gpu":"1"}"#) -> String {
        #"""
        {"metadata":{"name":"\#(name)","creationTimestamp":"2026-12-05T10:00:00Z"},
         "spec":{"containers":[{"name":"vllm","resources":{"limits":\#(limits)}}]},
         "status":{"phase":"\#(phase)"\#(status.isEmpty ? "" : "," + status)}}
        """#
    }

    static func report(_ pods: String...) throws -> PodReport {
        try PodReport(kubectlJSON: Data(#"{"apiVersion":"v1","kind":"List","items":[\#(pods.joined(separator: ","))]}"#.utf8))
    }

    static let ready = pod(
        "llama-2-7b-production-7d4b9c-abcde", phase: "Running",
        status: #""containerStatuses":[{"name":"vllm","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2026-12-05T10:00:00Z"}}}]"#)
    static let unschedulable = pod(
        "llama-2-7b-production-6c7d8e-x7k2p", phase: "Pending",
        status: #""conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","#
            + #""message":"0/4 nodes are available: 4 Insufficient nvidia.com/gpu."}]"#)
    static let creating = pod(
        "llama-2-7b-production-6c7d8e-q9r8s", phase: "Pending",
        status: #""conditions":[{"type":"PodScheduled","status":"True"}],"#
            + #""containerStatuses":[{"name":"vllm","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}}}]"#)
    static func loading(since: String) -> String {
        pod(
            "llama-2-7b-production-6c7d8e-l0adn", phase: "Running",
            status: #""containerStatuses":[{"name":"vllm","ready":false,"restartCount":0,"state":{"running":{"startedAt":"\#(since)"}}}]"#)
    }
    static let imagePull = pod(
        "llama-2-7b-production-6c7d8e-1mg00", phase: "Pending",
        status: #""containerStatuses":[{"name":"vllm","ready":false,"restartCount":0,"#
            + #""state":{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image \"vllm/vllm-openai:0.7.0-missing\""}}}]"#)
    static let crashLoop = pod(
        "llama-2-7b-production-6c7d8e-cr4sh", phase: "Running",
        status: #""containerStatuses":[{"name":"vllm","ready":false,"restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}},"#
            + #""lastState":{"terminated":{"reason":"Error","exitCode":1}}}]"#)
    static let oom = pod(
        "llama-2-7b-production-6c7d8e-00mkd", phase: "Running",
        status: #""containerStatuses":[{"name":"vllm","ready":false,"restartCount":2,"state":{"waiting":{"reason":"CrashLoopBackOff"}},"#
            + #""lastState":{"terminated":{"reason":"OOMKilled","exitCode":137}}}]"#,
        limits: #"{"nvidia.com/gpu":"1","memory":"48Gi"}"#)

    @Test("each pod that is not ready says where it is; ready ones are counted")
    func phases() throws {
        var watch = RolloutWatch(unschedulableGrace: 120)
        let now = Self.start
        let (line, stuck) = watch.observe(try Self.report(Self.ready, Self.creating, Self.loading(since: "2026-12-05T09:58:55Z")), now: now)
        #expect(stuck == nil)
        #expect(line.hasPrefix("1/3 ready · "), "\(line)")
        #expect(line.contains("pod q9r8s pulling image / starting"), "\(line)")
        #expect(!line.contains("abcde"), "a ready pod is only counted: \(line)")
    }

    @Test("loading time counts from the container's start and moves in whole seconds")
    func loadingTime() throws {
        var watch = RolloutWatch(unschedulableGrace: 120)
        let started = ISO8601DateFormatter().date(from: "2026-12-05T10:00:00Z")!
        let report = try Self.report(Self.loading(since: "2026-12-05T10:00:00Z"))
        #expect(watch.observe(report, now: started.addingTimeInterval(65.4)).line == "0/1 ready · pod l0adn loading 1 min 5 s")
        #expect(watch.observe(report, now: started.addingTimeInterval(65.9)).line == "0/1 ready · pod l0adn loading 1 min 5 s")
        #expect(watch.observe(report, now: started.addingTimeInterval(66.1)).line == "0/1 ready · pod l0adn loading 1 min 6 s")
    }

    @Test("a container clock ahead of ours counts from when the pod was first seen loading, never below zero")
    func clockSkew() throws {
        var watch = RolloutWatch(unschedulableGrace: 120)
        let ours = ISO8601DateFormatter().date(from: "2026-12-05T10:00:00Z")!
        let report = try Self.report(Self.loading(since: "2026-12-05T10:05:00Z"))
        #expect(watch.observe(report, now: ours).line.hasSuffix("loading 0 s"))
        #expect(watch.observe(report, now: ours.addingTimeInterval(12)).line.hasSuffix("loading 12 s"))
    }

    @Test("an image that cannot be pulled, a crash loop and OOMKilled end the wait at once, with what the pod says")
    func stuckAtOnce() throws {
        var watch = RolloutWatch(unschedulableGrace: 120)
        let pull = try #require(watch.observe(try Self.report(Self.imagePull), now: Self.start).stuck)
        #expect(pull.problem == "ImagePullBackOff")
        #expect(pull.what.contains("Back-off pulling image \"vllm/vllm-openai:0.7.0-missing\""), "\(pull.what)")
        let crash = try #require(watch.observe(try Self.report(Self.crashLoop), now: Self.start).stuck)
        #expect(crash.problem == "CrashLoopBackOff" && crash.crashedContainer == "vllm" && crash.what.contains("3 restarts"))
        let killed = try #require(watch.observe(try Self.report(Self.oom), now: Self.start).stuck)
        #expect(killed.problem == "OOMKilled")
        #expect(killed.what.contains("memory limit 48Gi"), "\(killed.what)")
        let hint = Troubleshooting.hint(forPodProblem: killed.problem, release: "r", namespace: "ns").plainText
        #expect(hint.contains("--previous"))
    }

    @Test("pods that ran before the change are neither shown nor judged: a release upgraded because it crash-loops is not stopped for that")
    func oldPodsIgnored() throws {
        var watch = RolloutWatch(unschedulableGrace: 120)
        let old: Set = ["llama-2-7b-production-6c7d8e-cr4sh"]
        let before = watch.observe(try Self.report(Self.crashLoop), now: Self.start, old: old)
        #expect(before.line == "no new pods yet" && before.stuck == nil)
        let during = watch.observe(try Self.report(Self.crashLoop, Self.creating), now: Self.start, old: old)
        #expect(during.stuck == nil)
        #expect(during.line == "0/1 new ready · pod q9r8s pulling image / starting", "\(during.line)")
        #expect(watch.observe(try Self.report(Self.crashLoop, Self.imagePull), now: Self.start, old: old).stuck?.problem == "ImagePullBackOff")
    }

    @Test("a limit written as a bare number (as a manifest may carry it) is read, not a reason to refuse the whole list")
    func numericQuantity() throws {
        let report = try Self.report(Self.pod("p-1-a", phase: "Running", limits: #"{"nvidia.com/gpu":1,"memory":1e300,"cpu":{"odd":true}}"#))
        #expect(report.pods.first?.detail.memoryLimit == "1e+300")
    }

    @Test("a pod the scheduler cannot place ends the wait only after the grace, counted from when it was first seen so")
    func unschedulableGrace() throws {
        var watch = RolloutWatch(unschedulableGrace: 120)
        let report = try Self.report(Self.ready, Self.unschedulable)
        let first = watch.observe(report, now: Self.start)
        #expect(first.stuck == nil)
        #expect(first.line.contains("pod x7k2p Pending: 0/4 nodes are available: 4 Insufficient nvidia.com/gpu."), "\(first.line)")
        #expect(watch.observe(report, now: Self.start.addingTimeInterval(119)).stuck == nil)
        let stuck = try #require(watch.observe(report, now: Self.start.addingTimeInterval(120)).stuck)
        #expect(stuck.problem == "Pending" && stuck.what.contains("Insufficient nvidia.com/gpu"))
        // Scheduled in between: the grace starts again.
        _ = watch.observe(try Self.report(Self.ready), now: Self.start.addingTimeInterval(121))
        #expect(watch.observe(report, now: Self.start.addingTimeInterval(200)).stuck == nil)
    }
}
