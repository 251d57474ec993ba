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
        public var isReady: Bool { totalContainers > 0 && readyContainers == totalContainers }
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
            return Pod(
                name: item.metadata.name, phase: phase,
                readyContainers: statuses.filter(\.ready).count, totalContainers: total,
                restarts: statuses.reduce(0) { $0 + $1.restartCount }, problem: problem)
        }
    }
}

private struct PodList: Decodable {
    struct Item: Decodable {
        struct Metadata: Decodable { var name: String }
        struct Spec: Decodable { struct Container: Decodable { var name: String }; var containers: [Container]? }
        struct Status: Decodable {
            var phase: String?
            var containerStatuses: [ContainerStatus]?
        }
        var metadata: Metadata
        var spec: Spec?
        var status: Status?
    }
    struct ContainerStatus: Decodable {
        struct State: Decodable {
            struct Waiting: Decodable { var reason: String? }
            struct Terminated: Decodable { var reason: String? }
            var waiting: Waiting?
            var terminated: Terminated?
        }
        var ready: Bool
        var restartCount: Int
        var state: State?
        var lastState: State?
    }
    var items: [Item]
}
