import Foundation
import Hummingbird
import HummingbirdTesting
import CoxswainChat

/// One local HTTP server playing the Slack Web API (`/api/…`), slash-command response URLs
/// (`/hooks/…`) and a vLLM model server (`/model/…`). It records what it received and
/// behaves as each test tells it to.
actor FakeWorld {
    struct Received: Sendable {
        var path: String
        var authorization: String?
        var json: [String: any Sendable]
    }

    private(set) var received: [Received] = []
    var completionDelay: Duration = .zero
    var healthStatus: Int = 200
    var completionText = " I am doing well, thank you."
    /// Answer the first N chat.* calls with HTTP 429 and Retry-After: 1.
    var rateLimitNext = 0
    private var nextTS = 1
    /// What `usergroups.users.list` answers, by group id.
    var userGroups: [String: [String]] = [:]
    func set(userGroup: String, members: [String]) { userGroups[userGroup] = members }

    func set(completionDelay: Duration? = nil, healthStatus: Int? = nil, rateLimitNext: Int? = nil) {
        if let completionDelay { self.completionDelay = completionDelay }
        if let healthStatus { self.healthStatus = healthStatus }
        if let rateLimitNext { self.rateLimitNext = rateLimitNext }
    }

    func record(_ path: String, authorization: String?, body: Data) -> Received {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let item = Received(path: path, authorization: authorization, json: object.mapValues { Self.sendable($0) })
        received.append(item)
        return item
    }

    func takeRateLimit() -> Bool {
        guard rateLimitNext > 0 else { return false }
        rateLimitNext -= 1
        return true
    }

    func newTS() -> String {
        defer { nextTS += 1 }
        return "1763900000.\(String(format: "%06d", nextTS))"
    }

    private static func sendable(_ value: Any) -> any Sendable {
        switch value {
        case let s as String: return s
        case let n as NSNumber: return n.doubleValue
        case let a as [Any]: return a.map { sendable($0) } as [any Sendable]
        case let d as [String: Any]: return d.mapValues { sendable($0) } as [String: any Sendable]
        default: return String(describing: value)
        }
    }

    // MARK: what tests read

    func slackCalls(_ method: String) -> [Received] { received.filter { $0.path == "/api/\(method)" } }
    func responseURLCalls() -> [Received] { received.filter { $0.path.hasPrefix("/hooks/") } }
    func modelCalls() -> [String] { received.filter { $0.path.hasPrefix("/model/") }.map(\.path) }
}

extension Received {
    var text: String { json["text"] as? String ?? "" }
    var channel: String? { json["channel"] as? String }
    var threadTS: String? { json["thread_ts"] as? String }
    var ts: String? { json["ts"] as? String }
}
typealias Received = FakeWorld.Received

enum FakeServer {
    static func application(_ world: FakeWorld) -> some ApplicationProtocol {
        let router = Router()
        router.post("/api/{method}") { request, context -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let method = context.parameters.get("method") ?? ""
            if await world.takeRateLimit() {
                return Response(status: .tooManyRequests, headers: [.retryAfter: "1"])
            }
            let item = await world.record("/api/\(method)", authorization: request.headers[.authorization], body: body)
            guard item.authorization == "Bearer xoxb-fake" else { return json(["ok": false, "error": "invalid_auth"]) }
            switch method {
            case "chat.postMessage": return json(["ok": true, "channel": item.channel ?? "", "ts": await world.newTS()])
            case "chat.update": return json(["ok": true, "channel": item.channel ?? "", "ts": item.ts ?? ""])
            case "auth.test": return json(["ok": true, "team": "Example", "user": "coxswain", "user_id": "U0BOT"])
            case "usergroups.users.list":
                let group = FormDecoding.fields(body)["usergroup"] ?? ""
                return json(["ok": true, "users": await world.userGroups[group] ?? []])
            default: return json(["ok": false, "error": "unknown_method"])
            }
        }
        router.post("/hooks/{id}") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            _ = await world.record(request.uri.path, authorization: nil, body: body)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
        router.get("/model/health") { request, _ -> Response in
            _ = await world.record("/model/health", authorization: nil, body: Data())
            return Response(status: .init(code: await world.healthStatus))   // vLLM: empty body
        }
        router.get("/model/ready") { _, _ -> Response in
            _ = await world.record("/model/ready", authorization: nil, body: Data())
            return json(["status": "ready"])
        }
        router.post("/model/v1/completions") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            _ = await world.record("/model/v1/completions", authorization: nil, body: body)
            try await Task.sleep(for: await world.completionDelay)
            return json(["id": "cmpl-1", "object": "text_completion", "model": "llama-2-7b",
                         "choices": [["index": 0, "text": await world.completionText, "finish_reason": "length"]]])
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
