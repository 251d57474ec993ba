import CoxswainCore
import CoxswainHTTP
import Foundation
import Synchronization

/// A post found in a channel, with the notice it carries (`props.coxswain_notice`).
public struct MattermostPost: Sendable, Equatable {
    public var id: String
    public var noticeID: Int64?
}

/// The Mattermost REST API v4 calls Coxswain makes, with the bot's access token. Failures are
/// `SlackDeliveryError`s, the outbox's words for them (rate limited, transient, permanent),
/// whatever the platform. A 429 pauses every call until Mattermost's `X-Ratelimit-Reset`.
public final class MattermostWebClient: Sendable, CustomStringConvertible {
    private let serverURL: URL
    private let token: Secret
    private let http: OutboundHTTP
    private static let timeout = Duration.seconds(15)
    private let pausedUntil = Mutex<Date?>(nil)
    private let now: @Sendable () -> Date

    public init(http: OutboundHTTP, serverURL: URL, token: Secret, now: @escaping @Sendable () -> Date = { Date() }) {
        self.http = http; self.serverURL = serverURL; self.token = token; self.now = now
    }

    public var description: String { "MattermostWebClient(\(serverURL.absoluteString))" }

    private var base: String {
        var text = serverURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// The notice id a post carries in its props, so it can be found again after a crash.
    public static let noticeProp = "coxswain_notice"

    /// Until when Mattermost holds calls back (a 429), if it does.
    public var pause: Date? {
        pausedUntil.withLock { until in
            guard let date = until, date > now() else { until = nil; return nil }
            return date
        }
    }

    /// `POST /api/v4/posts`; returns the post's id.
    public func createPost(
        channel: String, message: String, props: [String: Any], rootID: String? = nil, noticeID: Int64? = nil
    ) async throws(SlackDeliveryError) -> String {
        var props = props
        if let noticeID { props[Self.noticeProp] = String(noticeID) }
        var body: [String: Any] = ["channel_id": channel, "message": message, "props": props]
        if let rootID { body["root_id"] = rootID }
        let answer = try await call(.post, "posts", body)
        guard let id = answer["id"] as? String else { throw .transient("POST /posts answered without an id") }
        return id
    }

    /// `PUT /api/v4/posts/{id}/patch`: a post's message and props replaced.
    public func patchPost(_ id: String, message: String, props: [String: Any]) async throws(SlackDeliveryError) {
        _ = try await call(.put, "posts/\(id)/patch", ["message": message, "props": props])
    }

    /// A reply through a slash command's `response_url`, only for the one who asked.
    public func respond(responseURL: String, text: String) async throws(SlackDeliveryError) {
        guard let url = URL(string: responseURL) else { throw .permanent("response_url is not a URL") }
        _ = try await exchange(.post, url, ["response_type": "ephemeral", "text": text], authorized: false)
    }

    /// `POST /api/v4/channels/direct` with the bot and `user`: the direct channel's id.
    public func directChannel(with user: String, bot: String) async throws(SlackDeliveryError) -> String {
        let answer = try await exchangeArray([bot, user])
        guard let id = answer["id"] as? String else { throw .transient("POST /channels/direct answered without an id") }
        return id
    }

    /// `GET /api/v4/users/me`: the bot's own user (id, username); the token works.
    public func me() async throws(SlackDeliveryError) -> (id: String, username: String) {
        let answer = try await call(.get, "users/me", nil)
        return (answer["id"] as? String ?? "", answer["username"] as? String ?? "")
    }

    /// `GET /api/v4/users/username/{name}`: a user's id.
    public func userID(username: String) async throws(SlackDeliveryError) -> String {
        let answer = try await call(.get, "users/username/\(username)", nil)
        guard let id = answer["id"] as? String else { throw .permanent("no user \(username)") }
        return id
    }

    /// `GET /api/v4/channels/{id}/posts?since=MS`: posts since then, with the notice each carries.
    public func posts(channel: String, since: Date) async throws(SlackDeliveryError) -> [MattermostPost] {
        let millis = Int64(since.timeIntervalSince1970 * 1000)
        let answer = try await call(.get, "channels/\(channel)/posts?since=\(millis)", nil)
        let posts = answer["posts"] as? [String: [String: Any]] ?? [:]
        return posts.values.compactMap { post in
            guard let id = post["id"] as? String else { return nil }
            let notice = ((post["props"] as? [String: Any])?[Self.noticeProp] as? String).flatMap { Int64($0) }
            return MattermostPost(id: id, noticeID: notice)
        }
    }

    /// `GET /api/v4/channels/{id}/members/me`: whether the bot is in the channel.
    public func isMember(of channel: String) async throws(SlackDeliveryError) -> Bool {
        do {
            _ = try await call(.get, "channels/\(channel)/members/me", nil)
            return true
        } catch .permanent(let reason) where reason.contains("HTTP 404") || reason.contains("HTTP 403") {
            return false
        }
    }

    private func call(_ method: OutboundHTTP.Method, _ path: String, _ body: [String: Any]?) async throws(SlackDeliveryError) -> [String: Any] {
        guard let url = URL(string: base + "/api/v4/" + path) else {
            throw .permanent("cannot make a URL of \(path)")
        }
        return try await exchange(method, url, body, authorized: true)
    }

    private func exchangeArray(_ users: [String]) async throws(SlackDeliveryError) -> [String: Any] {
        guard let url = URL(string: base + "/api/v4/channels/direct") else {
            throw .permanent("cannot make a URL of channels/direct")
        }
        return try await exchange(.post, url, users, authorized: true)
    }

    private func exchange(_ method: OutboundHTTP.Method, _ url: URL, _ body: Any?, authorized: Bool) async throws(SlackDeliveryError) -> [String: Any] {
        if let until = pause {
            throw .rateLimited(method: "mattermost", retryAfterSeconds: max(1, Int(until.timeIntervalSince(now()).rounded(.up))))
        }
        var headers = [("Content-Type", "application/json")]
        if authorized { headers.append(("Authorization", "Bearer \(token.reveal())")) }
        let answer: OutboundHTTP.Answer
        do {
            answer = try await http.send(method, url, headers: headers, body: body.map { Data(JSONText.encode($0).utf8) }, timeout: Self.timeout)
        } catch {
            throw .transient("\(url.path): \(error.reason)")
        }
        let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
        // Mattermost's errors: {"id": "api.post.create_post.channel_not_found", "message": …, "status_code": 403}.
        let why = [object?["id"] as? String, object?["message"] as? String].compactMap { $0 }.joined(separator: ": ")
        switch answer.status {
        case 429:
            // X-Ratelimit-Reset: seconds until the limit resets.
            let reset = answer.header("X-Ratelimit-Reset").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 1
            let seconds = min(max(1, reset), 3600)
            pausedUntil.withLock { $0 = now().addingTimeInterval(TimeInterval(seconds)) }
            throw .rateLimited(method: "mattermost", retryAfterSeconds: seconds)
        case 500...: throw .transient("HTTP \(answer.status) from \(url.path)\(why.isEmpty ? "" : ": " + why)")
        case 400...: throw .permanent("HTTP \(answer.status) from \(url.path)\(why.isEmpty ? "" : ": " + why)")
        default: return object ?? [:]
        }
    }
}
