import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Each release's model server, as its Service would answer: `/health`, `/ready`,
/// `/v1/models`, `/v1/completions` and `/metrics` at `/models/NAMESPACE/RELEASE/…`. What it answers follows
/// the pods the sandbox cluster runs for the release: none ready, no answer (503); ready
/// pods of a `slow` image, completions in 4 s; of an `errors` image, 500s; else text.
struct ModelEndpoints: Sendable {
    let cluster: SandboxCluster
    let traffic: ModelTraffic

    static let slowCompletion: Duration = .seconds(4)

    func respond(_ request: Request, segments: [String]) async throws -> Response {
        guard segments.count >= 4 else { return Self.text("usage: /models/NAMESPACE/RELEASE/health", status: .notFound) }
        let namespace = segments[1], release = segments[2]
        let rest = "/" + segments.dropFirst(3).joined(separator: "/")
        let serving = await cluster.servingPods(namespace: namespace, release: release)
        if rest == "/metrics" { return Self.text(await traffic.exposition(release: release, model: serving.model ?? release)) }
        guard let behaviour = serving.behaviour else {
            return Self.text("no ready pods behind \(release) in \(namespace) (the Service has no endpoints)", status: .serviceUnavailable)
        }
        let started = ContinuousClock.now
        let response: Response
        switch (request.method, rest) {
        case (.get, "/health"), (.get, "/ready"):
            response = Response(status: .ok)
        case (.get, "/v1/models"):
            // vLLM's ModelList: the name the pods were started with (`--model`) and its context length (`--max-model-len`, 4096 unless given).
            let model = serving.model ?? release
            response = Self.json([
                "object": "list",
                "data": [
                    [
                        "id": .string(model), "object": "model", "created": .int(Int(Date().timeIntervalSince1970)), "owned_by": "vllm",
                        "root": .string(model), "max_model_len": .int(serving.maxModelLen ?? 4096),
                    ]
                ],
            ])
        case (.post, "/v1/completions"):
            let body = (try? JSON.parse(Data(buffer: try await request.body.collect(upTo: 1_048_576)))) ?? [:]
            response = try await complete(body, behaviour: behaviour, model: serving.model ?? "")
        default:
            response = Self.json(["detail": "Not Found"], status: .notFound)
        }
        await traffic.record(
            release: release, handler: rest, method: request.method.rawValue, status: response.status.code,
            seconds: (ContinuousClock.now - started).seconds)
        return response
    }

    private func complete(_ body: JSON, behaviour: PodBehaviour, model: String) async throws -> Response {
        let asked = body["model"].string ?? ""
        guard asked == model else {
            return Self.json(
                [
                    "object": "error", "message": .string("The model `\(asked)` does not exist."), "type": "NotFoundError", "param": nil,
                    "code": 404,
                ], status: .notFound)
        }
        if behaviour == .errors {
            return Self.json(
                [
                    "object": "error", "message": "CUDA error: an illegal memory access was encountered", "type": "InternalServerError",
                    "param": nil, "code": 500,
                ], status: .internalServerError)
        }
        if behaviour == .slow { try await Task.sleep(for: Self.slowCompletion) }
        let tokens = body["max_tokens"].int ?? 16
        return Self.json([
            "id": .string("cmpl-\(UUID().uuidString.prefix(8).lowercased())"), "object": "text_completion",
            "created": .int(Int(Date().timeIntervalSince1970)), "model": .string(model),
            "choices": [["index": 0, "text": " I'm doing well, thank you for asking.", "logprobs": nil, "finish_reason": "length", "stop_reason": nil]],
            "usage": ["prompt_tokens": 6, "total_tokens": .int(6 + tokens), "completion_tokens": .int(tokens)],
        ])
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response { KubernetesAPI.json(value, status: status) }
}

extension SandboxCluster {
    /// The model and behaviour of a release's ready pods; nil behaviour when none is ready.
    func servingPods(namespace: String, release: String) -> (behaviour: PodBehaviour?, model: String?, maxModelLen: Int?) {
        let selector = (try? LabelSelector("app.kubernetes.io/instance=\(release)")) ?? .everything
        let pods = store.list(.pods, namespace: namespace, labels: selector, fields: .everything)
        let ready = pods.filter { ($0[path: "status.conditions"].array ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" } }
        func argument(_ name: String) -> (JSON) -> String? {
            { pod in
                let args = pod[path: "spec.containers"].array?.first?["args"].array?.compactMap(\.string) ?? []
                return args.firstIndex(of: name).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil }
            }
        }
        let serving = ready.first ?? pods.first
        let maxModelLen = serving.flatMap(argument("--max-model-len")).flatMap { Int($0) }
        return (ready.first.map { PodBehaviour(pod: $0) }, serving.flatMap(argument("--model")), maxModelLen)
    }
}

/// What each release's model server has served, exposed in vLLM's metric names (and the
/// `http_requests_total` of its API server), for Prometheus to scrape.
actor ModelTraffic {
    struct Counts {
        var requests: [String: Int] = [:]  // "handler method status-class"
        var completionsOK = 0
        var latencyBuckets: [Double: Int] = [:]
        var latencySum = 0.0
        var latencyCount = 0
    }
    static let buckets: [Double] = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60]
    private var counts: [String: Counts] = [:]

    func record(release: String, handler: String, method: String, status: Int, seconds: Double) {
        var entry = counts[release] ?? Counts()
        entry.requests["\(handler) \(method) \(status / 100)xx", default: 0] += 1
        if handler == "/v1/completions", status == 200 {
            entry.completionsOK += 1
            for bucket in Self.buckets where seconds <= bucket { entry.latencyBuckets[bucket, default: 0] += 1 }
            entry.latencySum += seconds
            entry.latencyCount += 1
        }
        counts[release] = entry
    }

    func exposition(release: String, model: String) -> String {
        let entry = counts[release] ?? Counts()
        let label = "model_name=\"\(model)\""
        var lines = [
            "# HELP vllm:num_requests_running Number of requests currently running on GPU.", "# TYPE vllm:num_requests_running gauge",
            "vllm:num_requests_running{\(label)} 0.0",
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.", "# TYPE vllm:num_requests_waiting gauge",
            "vllm:num_requests_waiting{\(label)} 0.0",
            "# HELP vllm:request_success_total Count of successfully processed requests.", "# TYPE vllm:request_success_total counter",
            "vllm:request_success_total{finished_reason=\"length\",\(label)} \(Double(entry.completionsOK))",
            "# HELP vllm:e2e_request_latency_seconds Histogram of end to end request latency in seconds.",
            "# TYPE vllm:e2e_request_latency_seconds histogram",
        ]
        for bucket in Self.buckets {
            lines.append("vllm:e2e_request_latency_seconds_bucket{le=\"\(bucket)\",\(label)} \(Double(entry.latencyBuckets[bucket] ?? 0))")
        }
        lines += [
            "vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",\(label)} \(Double(entry.latencyCount))",
            "vllm:e2e_request_latency_seconds_count{\(label)} \(Double(entry.latencyCount))",
            "vllm:e2e_request_latency_seconds_sum{\(label)} \(entry.latencySum)",
            "# HELP http_requests_total Total number of requests by method, status and handler.", "# TYPE http_requests_total counter",
        ]
        for (key, count) in entry.requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ")
            lines.append("http_requests_total{handler=\"\(parts[0])\",method=\"\(parts[1])\",status=\"\(parts[2])\"} \(Double(count))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
