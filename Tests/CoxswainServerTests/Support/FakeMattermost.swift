import CoxswainChat
import Foundation
import Hummingbird

/// Mattermost's REST API v4 as Coxswain uses it (`/mm/api/v4/…`) and its slash commands'
/// response URLs (`/mm/hooks/commands/…`), played on the tests' fake server: the endpoints'
/// status codes and error bodies (`{"id", "message", "status_code"}`), bearer-token checks,
/// 26-character ids, posts kept with their props, and, when a test asks, an outage (503) or
/// a rate limit (429 with `X-Ratelimit-Reset`).
actor FakeMattermost {
    static let botToken = "mm-bot-token-1234567890"
    static let commandToken = "mmcommandtoken0123456789ab"
    static let botID = "coxswainbot000000000000000"

    struct Post: Sendable {
        var id: String
        var channel: String
        var rootID: String?
        var message: String
        var props: [String: any Sendable]
        var createAt: Int64
        var edits = 0
    }

    private(set) var posts: [Post] = []
    private(set) var responses: [String] = []
    /// Every API call, as `METHOD path`, in order.
    private(set) var calls: [String] = []
    private var next = 1
    /// Answer API calls with 503 while set.
    var down = false
    /// Answer the next N API calls with 429 (reset after `resetSeconds`).
    var rateLimitNext = 0
    /// How many calls met the outage and the rate limit.
    private(set) var refused = (down: 0, rateLimited: 0)
    var resetSeconds = 1
    /// Channels the bot is not a member of.
    var notMemberOf: Set<String> = []
    /// Called after a post is kept, before it is answered (to kill the caller there).
    private var onPost: (@Sendable (Post) -> Void)?
    func set(onPost: (@Sendable (Post) -> Void)?) { self.onPost = onPost }

    func set(down: Bool? = nil, rateLimitNext: Int? = nil, notMemberOf: Set<String>? = nil) {
        if let down { self.down = down }
        if let rateLimitNext { self.rateLimitNext = rateLimitNext }
        if let notMemberOf { self.notMemberOf = notMemberOf }
    }

    func posts(in channel: String) -> [Post] { posts.filter { $0.channel == channel } }

    private func newID() -> String {
        defer { next += 1 }
        let digits = String(next)
        return "post" + String(repeating: "0", count: 22 - digits.count) + digits
    }

    static func error(_ status: Int, id: String, message: String) -> Response {
        let body: [String: Any] = ["id": id, "message": message, "detailed_error": "", "request_id": "fakerequest0000000000000000", "status_code": status]
        var response = FakeServer.json(body)
        response.status = .init(code: status)
        return response
    }

    /// What an API call meets before it is served.
    func obstacle(_ call: String, authorization: String?) -> Response? {
        calls.append(call)
        if down {
            refused.down += 1
            return Self.error(503, id: "api.server.unavailable", message: "Mattermost is starting up")
        }
        if rateLimitNext > 0 {
            rateLimitNext -= 1
            refused.rateLimited += 1
            var response = Self.error(429, id: "api.context.rate_limit", message: "Too many requests, please slow down.")
            response.headers[.init("X-Ratelimit-Limit")!] = "10"
            response.headers[.init("X-Ratelimit-Remaining")!] = "0"
            response.headers[.init("X-Ratelimit-Reset")!] = String(resetSeconds)
            return response
        }
        guard authorization == "Bearer \(Self.botToken)" else {
            return Self.error(401, id: "api.context.session_expired.app_error", message: "Invalid or expired session, please login again.")
        }
        return nil
    }

    func create(_ data: Data) -> Response {
        let body = Self.object(data)
        guard let channel = body["channel_id"] as? String, !channel.isEmpty else {
            return Self.error(400, id: "api.context.invalid_body_param.app_error", message: "Invalid or missing post in request body.")
        }
        guard !notMemberOf.contains(channel) else {
            return Self.error(403, id: "api.context.permissions.app_error", message: "You do not have the appropriate permissions.")
        }
        let props = (body["props"] as? [String: Any] ?? [:]).mapValues { FakeWorld.sendable($0) }
        let post = Post(
            id: newID(), channel: channel, rootID: (body["root_id"] as? String).flatMap { $0.isEmpty ? nil : $0 },
            message: body["message"] as? String ?? "", props: props, createAt: Int64(Date().timeIntervalSince1970 * 1000))
        posts.append(post)
        onPost?(post)
        var response = FakeServer.json(Self.json(post))
        response.status = .created
        return response
    }

    func patch(_ id: String, _ data: Data) -> Response {
        let body = Self.object(data)
        guard let index = posts.firstIndex(where: { $0.id == id }) else {
            return Self.error(404, id: "app.post.get.app_error", message: "Unable to get the post.")
        }
        if let message = body["message"] as? String { posts[index].message = message }
        if let props = body["props"] as? [String: Any] { posts[index].props = props.mapValues { FakeWorld.sendable($0) } }
        posts[index].edits += 1
        return FakeServer.json(Self.json(posts[index]))
    }

    func since(_ channel: String, millis: Int64) -> Response {
        let found = posts.filter { $0.channel == channel && $0.createAt >= millis }
        return FakeServer.json([
            "order": found.map(\.id).reversed() as [String], "posts": Dictionary(uniqueKeysWithValues: found.map { ($0.id, Self.json($0)) }),
        ])
    }

    func responded(_ data: Data) { responses.append(Self.object(data)["text"] as? String ?? "") }

    static func object(_ data: Data) -> [String: Any] { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:] }

    static func json(_ post: Post) -> [String: Any] {
        [
            "id": post.id, "channel_id": post.channel, "root_id": post.rootID ?? "", "message": post.message, "create_at": post.createAt,
            "update_at": post.createAt, "user_id": botID, "type": "", "props": post.props,
        ]
    }

    nonisolated static func add(to router: Router<BasicRequestContext>, _ fake: FakeMattermost) {
        @Sendable func body(_ request: Request) async throws -> Data {
            Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
        }
        router.post("/mm/api/v4/posts") { request, _ -> Response in
            if let obstacle = await fake.obstacle("POST /posts", authorization: request.headers[.authorization]) { return obstacle }
            return await fake.create(try await body(request))
        }
        router.put("/mm/api/v4/posts/{id}/patch") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            if let obstacle = await fake.obstacle("PUT /posts/\(id)/patch", authorization: request.headers[.authorization]) { return obstacle }
            return await fake.patch(id, try await body(request))
        }
        router.get("/mm/api/v4/channels/{id}/posts") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            if let obstacle = await fake.obstacle("GET /channels/\(id)/posts", authorization: request.headers[.authorization]) { return obstacle }
            return await fake.since(id, millis: Int64(request.uri.queryParameters.get("since") ?? "0") ?? 0)
        }
        router.get("/mm/api/v4/users/me") { request, _ -> Response in
            if let obstacle = await fake.obstacle("GET /users/me", authorization: request.headers[.authorization]) { return obstacle }
            return FakeServer.json(["id": botID, "username": "coxswain", "is_bot": true])
        }
        router.get("/mm/api/v4/users/username/{name}") { request, context -> Response in
            let name = context.parameters.get("name") ?? ""
            if let obstacle = await fake.obstacle("GET /users/username/\(name)", authorization: request.headers[.authorization]) { return obstacle }
            let id = name + String(repeating: "0", count: max(0, 26 - name.count))
            return FakeServer.json(["id": String(id.prefix(26)), "username": name])
        }
        router.post("/mm/api/v4/channels/direct") { request, _ -> Response in
            if let obstacle = await fake.obstacle("POST /channels/direct", authorization: request.headers[.authorization]) { return obstacle }
            let data = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let users = (try? JSONSerialization.jsonObject(with: data)) as? [String] ?? []
            guard users.count == 2 else {
                return error(400, id: "api.context.invalid_body_param.app_error", message: "Invalid or missing user_ids in request body.")
            }
            return FakeServer.json(["id": "dm" + String(users.sorted().joined().prefix(24)), "type": "D"])
        }
        router.get("/mm/api/v4/channels/{id}/members/me") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            if let obstacle = await fake.obstacle("GET /channels/\(id)/members/me", authorization: request.headers[.authorization]) { return obstacle }
            guard await !fake.notMemberOf.contains(id) else {
                return error(404, id: "app.channel.get_member.missing.app_error", message: "No channel member found for that user ID and channel ID.")
            }
            return FakeServer.json(["channel_id": id, "user_id": botID, "roles": "channel_user"])
        }
        router.post("/mm/hooks/commands/{id}") { request, _ -> Response in
            await fake.responded(try await body(request))
            return Response(status: .ok)
        }
    }
}
