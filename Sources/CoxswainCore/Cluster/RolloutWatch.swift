import Foundation

/// Follows a release's pods while a rollout waits for them: where each pod that is not ready
/// is (not scheduled, pulling its image, starting, loading its weights, failing), in one line
/// for the live message, and whether the wait can end now because it cannot succeed.
///
/// A vLLM pod is "loading" while its container runs but is not ready: the server loads the
/// weights before its health endpoint answers, which takes minutes for a large model.
public struct RolloutWatch: Sendable {
    /// Why the wait cannot succeed, in the words the job's failure and hint use.
    public struct Stuck: Sendable, Equatable {
        /// The pod that shows it.
        public var pod: String
        /// For the failure line: "pod …-x7k2p: ImagePullBackOff (Back-off pulling image …)".
        public var what: String
        /// The pod problem the seed's troubleshooting hint is chosen by.
        public var problem: String
        /// The container whose previous run's last log line is worth showing (crash loops).
        public var crashedContainer: String?
    }

    /// How long a pod may stay unschedulable before the wait gives up: a cluster autoscaler
    /// may be adding a node meanwhile.
    public let unschedulableGrace: TimeInterval
    private var firstUnschedulable: [String: Date] = [:]
    private var firstSeenLoading: [String: Date] = [:]

    public init(unschedulableGrace: TimeInterval) { self.unschedulableGrace = unschedulableGrace }

    /// Where the pods are now, and the reason to stop waiting when there is one.
    /// - Parameter old: the pods that ran before the change; they are neither shown nor judged
    ///   (a release upgraded because its pods crash-loop must not be stopped for those).
    public mutating func observe(_ report: PodReport, now: Date, old: Set<String> = []) -> (line: String, stuck: Stuck?) {
        var parts: [String] = []
        var stuck: Stuck?
        let pods = report.pods.filter { !old.contains($0.name) }
        if pods.isEmpty, !old.isEmpty { return ("no new pods yet", nil) }
        let ready = pods.filter(\.isReady).count
        parts.append("\(ready)/\(pods.count) \(old.isEmpty ? "" : "new ")ready")
        for pod in pods.sorted(by: { $0.name < $1.name }) where !pod.isReady {
            let (state, problem) = describe(pod, now: now)
            parts.append("\(Self.shortName(pod.name)) \(state)")
            if stuck == nil, let problem { stuck = problem }
        }
        let present = Set(report.pods.map(\.name))
        firstUnschedulable = firstUnschedulable.filter { present.contains($0.key) }
        firstSeenLoading = firstSeenLoading.filter { present.contains($0.key) }
        return (parts.joined(separator: " · "), stuck)
    }

    private mutating func describe(_ pod: PodReport.Pod, now: Date) -> (String, Stuck?) {
        let detail = pod.detail
        if let refusal = detail.unschedulable {
            let since = firstUnschedulable[pod.name] ?? now
            firstUnschedulable[pod.name] = since
            let waited = now.timeIntervalSince(since)
            let state = "Pending: \(refusal)"
            guard waited >= unschedulableGrace else { return (state, nil) }
            return (state, Stuck(pod: pod.name, what: "pod \(pod.name) is Pending: \(refusal)", problem: "Pending", crashedContainer: nil))
        }
        firstUnschedulable[pod.name] = nil
        let reason = detail.waitingReason ?? ""
        if ["ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"].contains(reason) {
            let message = detail.waitingMessage.map { " (\($0))" } ?? ""
            return ("\(reason)", Stuck(pod: pod.name, what: "pod \(pod.name): \(reason)\(message)", problem: reason, crashedContainer: nil))
        }
        if pod.problem?.contains("OOMKilled") == true {
            let limit = detail.memoryLimit.map { "memory limit \($0)" } ?? "no memory limit set"
            return (
                "OOMKilled (\(limit))",
                Stuck(
                    pod: pod.name, what: "pod \(pod.name) was OOMKilled (\(limit)), \(pod.restarts) restart\(pod.restarts == 1 ? "" : "s")",
                    problem: "OOMKilled", crashedContainer: detail.container)
            )
        }
        if reason == "CrashLoopBackOff" {
            return (
                "CrashLoopBackOff, \(pod.restarts) restart\(pod.restarts == 1 ? "" : "s")",
                Stuck(
                    pod: pod.name, what: "pod \(pod.name) is in CrashLoopBackOff (\(pod.restarts) restarts)", problem: "CrashLoopBackOff",
                    crashedContainer: detail.container)
            )
        }
        if reason == "ErrImagePull" { return ("pulling image failed, retrying", nil) }
        if reason == "ContainerCreating" || reason == "PodInitializing" { return ("pulling image / starting", nil) }
        if pod.phase == "Running" {
            // Loading since the container started (the cluster's clock), or since first seen when that clock is ahead of ours.
            let seen = firstSeenLoading[pod.name] ?? now
            firstSeenLoading[pod.name] = seen
            let since = detail.runningSince.map { min($0, seen) } ?? seen
            return ("loading \(Self.wholeSeconds(now.timeIntervalSince(since)))", nil)
        }
        if pod.phase == "Pending" { return ("scheduled, starting", nil) }
        return (pod.problem ?? pod.phase, nil)
    }

    /// "42 s", "2 min 5 s": whole seconds, so that the line changes once a second at most.
    static func wholeSeconds(_ interval: TimeInterval) -> String {
        let seconds = max(0, Int(interval))
        return seconds < 60 ? "\(seconds) s" : "\(seconds / 60) min \(seconds % 60) s"
    }

    /// The part of a pod's name after its ReplicaSet's ("llama-2-7b-production-6c7d8e9f-x7k2p" → "pod x7k2p").
    static func shortName(_ name: String) -> String {
        let parts = name.split(separator: "-")
        return parts.count > 2 ? "pod \(parts.last ?? "")" : "pod \(name)"
    }
}
