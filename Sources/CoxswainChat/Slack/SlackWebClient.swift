import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Why a message could not be delivered, and so whether trying again can help.
public enum SlackDeliveryError: Error, Equatable, CustomStringConvertible {
    /// HTTP 429: Slack says when to try again (`Retry-After`, seconds).
    case rateLimited(retryAfterSeconds: Int)
    /// Network trouble, 5xx, or a Slack error that may pass.
    case transient(String)
    /// Trying again will not help (channel_not_found, invalid_auth, not_in_channel, …).
    case permanent(String)

    public var description: String {
        switch self {
        case .rateLimited(let s): return "rate limited (Retry-After \(s)s)"
        case .transient(let m): return "transient: \(m)"
        case .permanent(let m): return "permanent: \(m)"
        }
    }
}

/// The few Slack Web API methods Coxswain uses, over HTTPS with the bot token.
public struct SlackWebClient: Sendable {
    private let apiURL: URL
    private let token: String
    private let session: URLSession

    public init(apiURL: URL, token: String) {
        self.apiURL = apiURL
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 15
        self.session = URLSession(configuration: configuration)
    }

    /// `chat.postMessage`; returns the message's `ts`.
    public func postMessage(channel: String, text: String, blocksJSON: String?, threadTS: String?) async throws(SlackDeliveryError) -> String {
        var body: [String: Any] = ["channel": channel, "text": text, "unfurl_links": false]
        if let threadTS { body["thread_ts"] = threadTS }
        if let blocks = Self.blocks(blocksJSON) { body["blocks"] = blocks }
        let answer = try await call("chat.postMessage", body)
        guard let ts = answer["ts"] as? String else { throw .transient("chat.postMessage answered without ts") }
        return ts
    }

    /// `chat.update` of a message posted before.
    public func updateMessage(channel: String, ts: String, text: String, blocksJSON: String?) async throws(SlackDeliveryError) {
        var body: [String: Any] = ["channel": channel, "ts": ts, "text": text]
        if let blocks = Self.blocks(blocksJSON) { body["blocks"] = blocks }
        _ = try await call("chat.update", body)
    }

    /// An ephemeral follow-up through a slash command's `response_url` (no token needed).
    public func respond(responseURL: String, text: String) async throws(SlackDeliveryError) {
        guard let url = URL(string: responseURL), url.scheme == "https" || url.scheme == "http" else {
            throw .permanent("response_url is not a URL")
        }
        let body: [String: Any] = ["response_type": "ephemeral", "replace_original": false, "text": text]
        _ = try await send(url: url, body: body, authorized: false, expectJSON: false)
    }

    /// `auth.test`: the bot token works; returns the team and bot user names.
    public func authTest() async throws(SlackDeliveryError) -> String {
        let answer = try await call("auth.test", [:])
        return "\(answer["team"] as? String ?? "?") as \(answer["user"] as? String ?? "?")"
    }

    /// `usergroups.users.list`: the user ids in a user group (scope `usergroups:read`).
    public func userGroupMembers(_ group: String) async throws(SlackDeliveryError) -> [String] {
        var request = URLRequest(url: apiURL.appendingPathComponent("usergroups.users.list"))
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.httpBody = Data(FormDecoding.encode([("usergroup", group)]).utf8)
        let answer = try await exchange(request, expectJSON: true)
        guard answer["ok"] as? Bool == true else { throw .permanent("usergroups.users.list: \(answer["error"] as? String ?? "unknown_error")") }
        return answer["users"] as? [String] ?? []
    }

    private static func blocks(_ json: String?) -> Any? {
        json.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
    }

    private func call(_ method: String, _ body: [String: Any]) async throws(SlackDeliveryError) -> [String: Any] {
        let answer = try await send(url: apiURL.appendingPathComponent(method), body: body, authorized: true, expectJSON: true)
        guard answer["ok"] as? Bool == true else {
            let error = answer["error"] as? String ?? "unknown_error"
            let transient: Set<String> = ["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"]
            throw transient.contains(error) ? .transient("\(method): \(error)") : .permanent("\(method): \(error)")
        }
        return answer
    }

    private func send(url: URL, body: [String: Any], authorized: Bool, expectJSON: Bool) async throws(SlackDeliveryError) -> [String: Any] {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json; charset=utf-8", forHTTPHeaderField: "Content-Type")
        if authorized { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try? JSONSerialization.data(withJSONObject: body)
        return try await exchange(request, expectJSON: expectJSON)
    }

    private func exchange(_ request: URLRequest, expectJSON: Bool) async throws(SlackDeliveryError) -> [String: Any] {
        let url = request.url!
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw .transient((error as NSError).localizedDescription)
        }
        let http = response as? HTTPURLResponse
        let status = http?.statusCode ?? 0
        if status == 429 {
            let retryAfter = http?.value(forHTTPHeaderField: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 1
            throw .rateLimited(retryAfterSeconds: max(1, retryAfter))
        }
        if status >= 500 || status == 0 { throw .transient("HTTP \(status) from \(url.path)") }
        if status >= 400 { throw .permanent("HTTP \(status) from \(url.path)") }
        guard expectJSON else { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .transient("\(url.path) answered with something that is not JSON")
        }
        return object
    }
}
