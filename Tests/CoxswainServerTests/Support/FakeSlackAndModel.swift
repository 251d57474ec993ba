import CoxswainChat
import Foundation
import Hummingbird
import HummingbirdTesting

/// One local HTTP server playing the Slack Web API (`/api/…`), slash-command response URLs
/// (`/hooks/…`) and a vLLM model server (`/model/…`). It records what it received, keeps the
/// messages it accepted (with their metadata, for `conversations.history`), and misbehaves
/// as a test tells it to: 500s, 429 with `Retry-After`, `not_in_channel`.
actor FakeWorld {
    struct Received: Sendable {
        var path: String
        var authorization: String?
        var json: [String: any Sendable]
        var at = ContinuousClock.now
    }
    struct Posted: Sendable {
        var channel: String
        var ts: String
        var threadTS: String?
        var noticeID: Int64?
        /// As Slack keeps it: the text as sent, escaped.
        var text = ""
    }

    private(set) var received: [Received] = []
    /// Mattermost's API on the same server (`/mm/…`).
    let mattermost = FakeMattermost()
    private(set) var posted: [Posted] = []
    /// How many chat.* calls met an outage (500) or a rate limit (429).
    private(set) var refused = (serverErrors: 0, rateLimited: 0)
    var completionDelay: Duration = .zero
    var healthStatus: Int = 200
    var completionText = " I am doing well, thank you."
    /// What `GET /model/v1/models` lists: every model the tests' configurations name, as vLLM
    /// serving several would (a test narrows it to serve the wrong weights).
    var servedModels: [(id: String, maxModelLen: Int)] = [("llama-2-7b", 4096), ("semantic-router", 512)]
    func set(servedModels: [(id: String, maxModelLen: Int)]) { self.servedModels = servedModels }
    /// Answer the first N chat.* calls with HTTP 429 and Retry-After.
    var rateLimitNext = 0
    var retryAfter = 1
    /// Answer chat.* calls with `outageStatus` (500, 503) while set.
    var serverErrors = false
    var outageStatus = 500
    /// Channels the bot is not a member of: posts there fail with `not_in_channel`.
    var notMemberOf: Set<String> = []
    /// Called after a post is recorded, before it is answered (to kill the caller there).
    var onPost: (@Sendable (Posted) -> Void)?
    private var nextTS = 1
    /// What `usergroups.users.list` answers, by group id.
    var userGroups: [String: [String]] = [:]
    var userGroupsFail = false
    func set(userGroup: String, members: [String]) { userGroups[userGroup] = members }
    /// What `apps.connections.open` answers (Socket Mode), and how often it was called.
    var socketModeURL: String?
    private(set) var socketModeOpens = 0
    func set(socketModeURL: String?) { self.socketModeURL = socketModeURL }
    func openedSocketMode() -> String? {
        socketModeOpens += 1
        return socketModeURL
    }

    func set(
        completionDelay: Duration? = nil, healthStatus: Int? = nil, rateLimitNext: Int? = nil, retryAfter: Int? = nil,
        serverErrors: Bool? = nil, outageStatus: Int? = nil, notMemberOf: Set<String>? = nil, userGroupsFail: Bool? = nil
    ) {
        if let outageStatus { self.outageStatus = outageStatus }
        if let completionDelay { self.completionDelay = completionDelay }
        if let healthStatus { self.healthStatus = healthStatus }
        if let rateLimitNext { self.rateLimitNext = rateLimitNext }
        if let retryAfter { self.retryAfter = retryAfter }
        if let serverErrors { self.serverErrors = serverErrors }
        if let notMemberOf { self.notMemberOf = notMemberOf }
        if let userGroupsFail { self.userGroupsFail = userGroupsFail }
    }

    func set(onPost: (@Sendable (Posted) -> Void)?) { self.onPost = onPost }

    func record(_ path: String, authorization: String?, body: Data) -> Received {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let item = Received(path: path, authorization: authorization, json: object.mapValues { Self.sendable($0) })
        received.append(item)
        return item
    }

    /// What a chat.* call meets before it is served: an outage, a rate limit, or nothing.
    func obstacle() -> Response? {
        if serverErrors {
            refused.serverErrors += 1
            return Response(status: .init(code: outageStatus))
        }
        guard rateLimitNext > 0 else { return nil }
        rateLimitNext -= 1
        refused.rateLimited += 1
        return Response(status: .tooManyRequests, headers: [.retryAfter: String(retryAfter)])
    }

    func post(_ item: Received) -> Posted {
        defer { nextTS += 1 }
        let metadata = item.json["metadata"] as? [String: any Sendable]
        let payload = metadata?["event_payload"] as? [String: any Sendable]
        let posted = Posted(
            channel: item.channel ?? "", ts: "1763900000.\(String(format: "%06d", nextTS))", threadTS: item.threadTS,
            noticeID: (payload?["notice_id"] as? Double).map { Int64($0) }, text: item.json["text"] as? String ?? "")
        self.posted.append(posted)
        return posted
    }

    static func sendable(_ value: Any) -> any Sendable {
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
    func history(channel: String, thread: String?) -> [Posted] {
        posted.filter { $0.channel == channel && (thread == nil ? $0.threadTS == nil : ($0.threadTS == thread || $0.ts == thread)) }
    }
}

extension Received {
    /// The text as a person reads it (Slack's `&lt;` `&gt;` `&amp;` undone).
    var text: String { Harness.unescape(json["text"] as? String ?? "") }
    var channel: String? { json["channel"] as? String }
    var threadTS: String? { json["thread_ts"] as? String }
    var ts: String? { json["ts"] as? String }
}
typealias Received = FakeWorld.Received

enum FakeServer {
    static func application(_ world: FakeWorld) -> some ApplicationProtocol {
        let router = Router()
        FakeMattermost.add(to: router, world.mattermost)
        router.post("/api/{method}") { request, context -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let method = context.parameters.get("method") ?? ""
            if method.hasPrefix("chat."), let obstacle = await world.obstacle() { return obstacle }
            let item = await world.record("/api/\(method)", authorization: request.headers[.authorization], body: body)
            if method == "apps.connections.open" {
                // As Slack: only an app-level token opens a connection.
                if item.authorization?.hasPrefix("Bearer xoxb-") == true { return json(["ok": false, "error": "not_allowed_token_type"]) }
                guard item.authorization == "Bearer \(Harness.appToken)" else { return json(["ok": false, "error": "invalid_auth"]) }
                guard let url = await world.openedSocketMode() else { return json(["ok": false, "error": "internal_error"]) }
                return json(["ok": true, "url": url])
            }
            guard item.authorization == "Bearer xoxb-fake" else { return json(["ok": false, "error": "invalid_auth"]) }
            switch method {
            case "chat.postMessage":
                if await world.notMemberOf.contains(item.channel ?? "") { return json(["ok": false, "error": "not_in_channel"]) }
                let posted = await world.post(item)
                await world.onPost?(posted)
                return json(["ok": true, "channel": posted.channel, "ts": posted.ts])
            case "chat.update": return json(["ok": true, "channel": item.channel ?? "", "ts": item.ts ?? ""])
            case "conversations.history", "conversations.replies":
                // As Slack answers: newest first, `limit` at a time (100 unless asked), a cursor to the next page.
                let all = await world.history(channel: item.channel ?? "", thread: method == "conversations.replies" ? item.ts : nil).reversed()
                let start = Int(item.json["cursor"] as? String ?? "") ?? 0
                let limit = max(1, min(1000, (item.json["limit"] as? Double).map { Int($0) } ?? 100))
                let page = all.dropFirst(start).prefix(limit)
                let messages = page.map { posted in
                    var message: [String: Any] = ["type": "message", "ts": posted.ts, "text": posted.text]
                    if let id = posted.noticeID {
                        message["metadata"] = ["event_type": SlackMessageMetadata.eventType, "event_payload": ["notice_id": id]]
                    }
                    return message
                }
                let more = start + page.count < all.count
                return json(["ok": true, "messages": messages, "has_more": more, "response_metadata": ["next_cursor": more ? String(start + page.count) : ""]])
            case "conversations.info":
                let member = await !world.notMemberOf.contains(item.channel ?? "")
                return json(["ok": true, "channel": ["id": item.channel ?? "", "is_member": member]])
            case "auth.test": return json(["ok": true, "team": "Example", "user": "coxswain", "user_id": "U0BOT"])
            case "usergroups.users.list":
                if await world.userGroupsFail { return Response(status: .internalServerError) }
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
        router.get("/model/health") { _, _ -> Response in
            _ = await world.record("/model/health", authorization: nil, body: Data())
            return Response(status: .init(code: await world.healthStatus))  // vLLM: empty body
        }
        router.get("/model/ready") { _, _ -> Response in
            _ = await world.record("/model/ready", authorization: nil, body: Data())
            return json(["status": "ready"])
        }
        router.get("/model/v1/models") { _, _ -> Response in
            _ = await world.record("/model/v1/models", authorization: nil, body: Data())
            // vLLM's ModelList: one card per served name, with its context length.
            let cards = await world.servedModels.map { model -> [String: Any] in
                [
                    "id": model.id, "object": "model", "created": 1_763_900_000, "owned_by": "vllm", "root": model.id,
                    "max_model_len": model.maxModelLen, "permission": [[String: Any]](),
                ]
            }
            return json(["object": "list", "data": cards])
        }
        router.post("/model/v1/completions") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            _ = await world.record("/model/v1/completions", authorization: nil, body: body)
            // Not a wait: the model's own latency, which the completion-SLO tests set.
            try await Task.sleep(for: await world.completionDelay)
            return json([
                "id": "cmpl-1", "object": "text_completion", "model": "llama-2-7b",
                "choices": [["index": 0, "text": await world.completionText, "finish_reason": "length"]],
            ])
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
