import Foundation

/// The state of a release's pods, read from `kubectl get pods -l … -o json`.
public struct PodReport: Sendable, Equatable, Codable {
    public struct Pod: Sendable, Equatable, Codable {
        public var name: String
        public var phase: String
        public var readyContainers: Int
        public var totalContainers: Int
        public var restarts: Int
        /// Why a container is not running: CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
        /// OOMKilled (last termination), Pending (not scheduled), …
        public var problem: String?
        /// What else the pod's status says about where it is, for the rollout's progress line.
        public var detail = Detail()
        public var isReady: Bool { totalContainers > 0 && readyContainers == totalContainers }

        public init(name: String, phase: String, readyContainers: Int, totalContainers: Int, restarts: Int, problem: String?, detail: Detail = Detail()) {
            self.name = name; self.phase = phase; self.readyContainers = readyContainers; self.totalContainers = totalContainers
            self.restarts = restarts; self.problem = problem; self.detail = detail
        }
    }

    /// The parts of a pod's status that tell scheduling, image pulling, starting and loading apart.
    public struct Detail: Sendable, Equatable, Codable {
        /// The scheduler's refusal when the pod is not scheduled ("0/4 nodes are available: 4 Insufficient nvidia.com/gpu").
        public var unschedulable: String?
        /// The first container's waiting reason and message (ContainerCreating, ImagePullBackOff: Back-off pulling image …).
        public var waitingReason: String?
        public var waitingMessage: String?
        /// When the first container started running (the cluster's clock), while it runs.
        public var runningSince: Date?
        /// The first container's memory limit, as the pod spec writes it ("64Gi").
        public var memoryLimit: String?
        /// The container that failed last, for `kubectl logs --previous`.
        public var container: String?
        public init() {}
    }

    public var pods: [Pod]

    public var readyCount: Int { pods.filter(\.isReady).count }
    /// The most telling problem among the pods, for the troubleshooting hint.
    public var mainProblem: String? {
        let order = ["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "OOMKilled", "Pending"]
        let problems = pods.compactMap(\.problem)
        for key in order {
            if let problem = problems.first(where: { $0.contains(key) }) { return problem }
        }
        return problems.first
    }

    /// "1/2 ready, 5 restarts, CrashLoopBackOff"
    public var summary: String {
        var parts = ["\(readyCount)/\(pods.count) ready"]
        let restarts = pods.reduce(0) { $0 + $1.restarts }
        if restarts > 0 { parts.append("\(restarts) restart\(restarts == 1 ? "" : "s")") }
        if let problem = mainProblem { parts.append(problem) }
        return parts.joined(separator: ", ")
    }

    /// The table the seed shows (`kubectl get pods`), for a thread reply.
    public var table: String {
        var lines = ["NAME  READY  STATUS  RESTARTS"]
        for pod in pods {
            lines.append("\(pod.name)  \(pod.readyContainers)/\(pod.totalContainers)  \(pod.problem ?? pod.phase)  \(pod.restarts)")
        }
        return lines.joined(separator: "\n")
    }

    public init(pods: [Pod]) { self.pods = pods }

    /// Decodes the JSON of `kubectl get pods -o json` (a `List` of `Pod`).
    public init(kubectlJSON data: Data) throws {
        let list = try JSONDecoder().decode(PodList.self, from: data)
        pods = list.items.map { item in
            let statuses = item.status?.containerStatuses ?? []
            let total = max(statuses.count, item.spec?.containers?.count ?? 0)
            var problem = statuses.lazy.compactMap { $0.state?.waiting?.reason }.first
            if problem == nil || problem == "CrashLoopBackOff",
                statuses.contains(where: { $0.lastState?.terminated?.reason == "OOMKilled" })
            {
                problem = problem == nil ? "OOMKilled" : "CrashLoopBackOff (OOMKilled)"
            }
            let phase = item.status?.phase ?? "Unknown"
            if problem == nil, phase == "Pending" { problem = "Pending" }
            var detail = Detail()
            if let scheduled = item.status?.conditions?.first(where: { $0.type == "PodScheduled" }), scheduled.status == "False" {
                detail.unschedulable = scheduled.message ?? scheduled.reason ?? "not scheduled"
            }
            let first = statuses.first
            detail.waitingReason = first?.state?.waiting?.reason
            detail.waitingMessage = first?.state?.waiting?.message
            detail.runningSince = first?.state?.running?.startedAt.flatMap(Self.timestamp)
            detail.memoryLimit = item.spec?.containers?.first?.resources?.limits?["memory"]?.text
            detail.container = first?.name ?? item.spec?.containers?.first?.name
            return Pod(
                name: item.metadata.name, phase: phase,
                readyContainers: statuses.filter(\.ready).count, totalContainers: total,
                restarts: statuses.reduce(0) { $0 + $1.restartCount }, problem: problem, detail: detail)
        }
    }

    private static func timestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

private struct PodList: Decodable {
    struct Item: Decodable {
        struct Metadata: Decodable { var name: String }
        struct Spec: Decodable {
            struct Container: Decodable {
                struct Resources: Decodable { var limits: [String: Quantity]? }
                var name: String
                var resources: Resources?
            }
            var containers: [Container]?
        }
        struct Condition: Decodable {
            var type: String
            var status: String?
            var reason: String?
            var message: String?
        }
        struct Status: Decodable {
            var phase: String?
            var conditions: [Condition]?
            var containerStatuses: [ContainerStatus]?
        }
        var metadata: Metadata
        var spec: Spec?
        var status: Status?
    }
    struct ContainerStatus: Decodable {
        struct State: Decodable {
            struct Waiting: Decodable {
                var reason: String?
                var message: String?
            }
            struct Running: Decodable { var startedAt: String? }
            struct Terminated: Decodable { var reason: String? }
            var waiting: Waiting?
            var running: Running?
            var terminated: Terminated?
        }
        var name: String?
        var ready: Bool
        var restartCount: Int
        var state: State?
        var lastState: State?
    }
    var items: [Item]
}

/// A resource quantity: a string as the API server writes it ("48Gi"), or a bare number as a
/// manifest may carry it; anything else is not a reason to refuse the whole pod list. Also
/// reads an int-or-string (`maxSurge: 1`, `maxSurge: 25%`).
struct Quantity: Decodable {
    var text: String?
    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let string = try? value.decode(String.self) {
            text = string
        } else if let number = try? value.decode(Double.self) {
            text = number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        } else {
            text = nil
        }
    }
}
