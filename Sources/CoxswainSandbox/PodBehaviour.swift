import Foundation

/// How long the sandbox's pods take to get where they are going.
public struct PodTiming: Sendable {
    /// A healthy image's pods are ready after this.
    public var ready: Duration
    /// A `slowstart` image's pods are ready after this.
    public var slowStart: Duration
    /// A crash-looping container restarts this often (up to ten times, then stays in back-off).
    public var crashInterval: Duration
    /// The last part of `ready` a healthy pod spends running but not ready, as vLLM does while
    /// it loads the weights; before that its container is being created (the image pulled).
    public var loading: Duration

    public init(
        ready: Duration = .milliseconds(500), slowStart: Duration = .seconds(20), crashInterval: Duration = .seconds(2), loading: Duration = .zero
    ) {
        self.ready = ready
        self.slowStart = slowStart
        self.crashInterval = crashInterval
        self.loading = min(loading, ready)
    }
}

/// What a pod of an image does, chosen by a word in the image tag
/// (`vllm/vllm-openai:0.5.0-crashloop`) or the pod's annotation `sandbox.coxswain.dev/behaviour`.
public enum PodBehaviour: String, Sendable, CaseIterable {
    /// Ready after `PodTiming.ready`; the model answers.
    case healthy
    /// The image does not exist: `ErrImagePull`, then `ImagePullBackOff`.
    case missing
    /// The container exits with an error: `CrashLoopBackOff`, restarts counting up.
    case crashloop
    /// The container is killed for memory: `CrashLoopBackOff`, last state `OOMKilled` (137).
    case oom
    /// Never placed, as if no node had a GPU free: `Pending`, `Unschedulable`, with the scheduler's message.
    case nogpu
    /// Ready only after `PodTiming.slowStart`.
    case slowstart
    /// Ready, but completions take 4 s (over the 3 s SLO).
    case slow
    /// Ready, but completions answer 500.
    case errors

    public static let annotation = "sandbox.coxswain.dev/behaviour"

    init(pod: JSON) {
        if let named = pod[path: "metadata.annotations"][Self.annotation].string, let behaviour = PodBehaviour(rawValue: named) {
            self = behaviour
            return
        }
        self.init(image: pod[path: "spec.containers"].array?.first?["image"].string ?? "")
    }

    public init(image: String) {
        let tag = image.split(separator: ":").last.map(String.init) ?? ""
        let words = tag.split(whereSeparator: { $0 == "-" || $0 == "." || $0 == "_" }).map { $0.lowercased() }
        self = Self.allCases.first { $0 != .healthy && words.contains($0.rawValue) } ?? .healthy
    }

    /// The pod's status `elapsed` seconds after it was bound to a node, and when it next
    /// changes; `unschedulable` is the scheduler's message for a pod no node can take.
    func status(of pod: JSON, elapsed: TimeInterval, timing: PodTiming, unschedulable: String? = nil) -> (status: JSON, nextChange: TimeInterval?) {
        let name = pod[path: "metadata.name"].string ?? ""
        let created = pod[path: "metadata.creationTimestamp"]
        let container = pod[path: "spec.containers"].array?.first ?? [:]
        let image = container["image"].string ?? ""
        let ready = timing.ready.seconds, interval = timing.crashInterval.seconds
        var status: JSON = ["phase": "Pending", "qosClass": "BestEffort"]
        if unschedulable == nil {
            status["hostIP"] = "10.0.0.11"
            status["startTime"] = created
        }
        func conditions(scheduled: Bool, ready: Bool) -> JSON {
            var list: [JSON] = [
                ["type": "PodScheduled", "status": scheduled ? "True" : "False", "lastProbeTime": nil, "lastTransitionTime": created]
            ]
            if !scheduled {
                list[0]["reason"] = "Unschedulable"
                list[0]["message"] = unschedulable.map { .string($0) } ?? .null
                return .array(list)
            }
            list.append(["type": "Initialized", "status": "True", "lastProbeTime": nil, "lastTransitionTime": created])
            for type in ["ContainersReady", "Ready"] {
                list.append(["type": .string(type), "status": ready ? "True" : "False", "lastProbeTime": nil, "lastTransitionTime": created])
            }
            return .array(list)
        }
        func containerStatus(ready: Bool, state: JSON, restarts: Int = 0, last: JSON = [:]) -> JSON {
            [
                "name": container["name"], "image": .string(image), "imageID": "", "ready": .bool(ready), "started": .bool(ready),
                "restartCount": .int(restarts), "state": state, "lastState": last,
            ]
        }
        let creating: JSON = ["waiting": ["reason": "ContainerCreating"]]
        if self == .nogpu || unschedulable != nil {
            status["conditions"] = conditions(scheduled: false, ready: false)
            return (status, nil)
        }
        status["podIP"] = .string("10.244.0.\(abs(name.hashValue % 250) + 2)")
        let readyAfter = self == .slowstart ? timing.slowStart.seconds : ready
        let running = ready - timing.loading.seconds
        guard elapsed >= min(readyAfter, running) else {
            status["conditions"] = conditions(scheduled: true, ready: false)
            status["containerStatuses"] = [containerStatus(ready: false, state: creating)]
            return (status, running - elapsed)
        }
        switch self {
        case .healthy, .slow, .errors, .slowstart:
            let isReady = elapsed >= readyAfter
            status["phase"] = "Running"
            status["conditions"] = conditions(scheduled: true, ready: isReady)
            status["containerStatuses"] = [containerStatus(ready: isReady, state: ["running": ["startedAt": created]])]
            return (status, isReady ? nil : readyAfter - elapsed)
        case .missing:
            let backOff = elapsed >= 2 * ready
            let reason = backOff ? "ImagePullBackOff" : "ErrImagePull"
            let message = backOff ? "Back-off pulling image \"\(image)\"" : "failed to pull and unpack image \"\(image)\": not found"
            status["conditions"] = conditions(scheduled: true, ready: false)
            status["containerStatuses"] = [containerStatus(ready: false, state: ["waiting": ["reason": .string(reason), "message": .string(message)]])]
            return (status, backOff ? nil : 2 * ready - elapsed)
        case .crashloop, .oom:
            let restarts = min(10, Int((elapsed - ready) / interval) + 1)
            let terminated: JSON = [
                "terminated": [
                    "reason": self == .oom ? "OOMKilled" : "Error", "exitCode": self == .oom ? 137 : 1, "startedAt": created, "finishedAt": created,
                ]
            ]
            let waiting: JSON = [
                "waiting": [
                    "reason": "CrashLoopBackOff",
                    "message": .string("back-off 10s restarting failed container=\(container["name"].string ?? "") pod=\(name)"),
                ]
            ]
            status["phase"] = "Running"
            status["conditions"] = conditions(scheduled: true, ready: false)
            status["containerStatuses"] = [containerStatus(ready: false, state: waiting, restarts: restarts, last: terminated)]
            return (status, restarts >= 10 ? nil : ready + Double(restarts) * interval - elapsed)
        case .nogpu:
            return (status, nil)
        }
    }
}

extension PodBehaviour {
    /// What `kubectl logs` shows: a vLLM server's start-up, and for a container that crashed,
    /// its previous run's last words (`--previous`); asking for a previous run that never was
    /// is refused as the API server refuses it.
    func log(of pod: JSON, previous: Bool) throws(APIError) -> [String] {
        let arguments = (pod[path: "spec.containers"].array?.first?["args"].array ?? []).compactMap(\.string)
        let model = arguments.firstIndex(of: "--model").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil } ?? "model"
        let start = [
            "INFO 12-05 10:00:00 api_server.py:585] vLLM API server version 0.6.0",
            "INFO 12-05 10:00:00 api_server.py:586] args: Namespace(model='\(model)')",
            "INFO 12-05 10:00:41 model_runner.py:1008] Loading model weights took 13.4793 GB",
        ]
        switch (self, previous) {
        case (.crashloop, true):
            return start + [
                "ValueError: The model's max seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache (8192). "
                    + "Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
            ]
        case (.oom, true):
            return start
        case (_, true):
            let container = pod[path: "spec.containers"].array?.first?["name"].string ?? ""
            throw APIError.badRequest(
                "previous terminated container \"\(container)\" in pod \"\(pod[path: "metadata.name"].string ?? "")\" not found")
        case (.healthy, false), (.slow, false), (.errors, false), (.slowstart, false):
            return start + ["INFO 12-05 10:00:52 launcher.py:19] Available routes are: /health, /v1/models, /v1/completions"]
        case (_, false):
            return []
        }
    }
}

extension Duration {
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
