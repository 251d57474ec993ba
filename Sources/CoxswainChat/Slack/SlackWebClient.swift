import CoxswainCore
import CoxswainHTTP
import Foundation
import Synchronization

/// Why a Slack call did not do what was asked, and so whether trying again can help.
public enum SlackDeliveryError: Error, Equatable, CustomStringConvertible {
    /// HTTP 429: Slack says when to try again (`Retry-After`, seconds). Not a failure.
    case rateLimited(method: String, retryAfterSeconds: Int)
    /// Network trouble, 5xx, or a Slack error that may pass.
    case transient(String)
    /// Trying again will not help (channel_not_found, invalid_auth, not_in_channel, …).
    case permanent(String)

    public var description: String {
        switch self {
        case .rateLimited(let method, let s): return "\(method) rate limited (Retry-After \(s)s)"
        case .transient(let m): return "transient: \(m)"
        case .permanent(let m): return "permanent: \(m)"
        }
    }

    /// The Slack error code of a permanent failure (`not_in_channel`), if it came from Slack.
    public var slackError: String? {
        guard case .permanent(let text) = self, let colon = text.lastIndex(of: ":") else { return nil }
        return text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}

/// What to attach to a post so it can be found again after a crash: Slack's message metadata.
public struct SlackMessageMetadata: Sendable, Equatable {
    public static let eventType = "coxswain_notice"
    public var noticeID: Int64
    public init(noticeID: Int64) { self.noticeID = noticeID }
}

/// A message found in a channel's history.
public struct SlackHistoryMessage: Sendable, Equatable {
    public var ts: String
    public var noticeID: Int64?
}

/// The Slack Web API methods Coxswain uses, over HTTPS with the bot token. A 429 pauses
/// the method it was for, for every caller, until Slack's `Retry-After` has passed.
public final class SlackWebClient: Sendable, CustomStringConvertible {
    private let apiURL: URL
    private let token: Secret
    private let http: OutboundHTTP
    /// Slack answers in well under a second; a call that takes longer is retried by the outbox.
    private static let timeout = Duration.seconds(15)
    private let pausedUntil = Mutex<[String: Date]>([:])
    private let now: @Sendable () -> Date
    /// Hears every call's outcome (`ok`, Slack's error, `rate_limited`, `transient`), for metrics.
    private let observe: @Sendable (_ method: String, _ outcome: String) -> Void

    public init(
        http: OutboundHTTP, apiURL: URL, token: Secret, now: @escaping @Sendable () -> Date = { Date() },
        observe: @escaping @Sendable (_ method: String, _ outcome: String) -> Void = { _, _ in }
    ) {
        self.http = http
        self.apiURL = apiURL
        self.token = token
        self.now = now
        self.observe = observe
    }

    public var description: String { "SlackWebClient(\(apiURL.absoluteString))" }

    /// Until when `method` is paused by a rate limit, if it is.
    public func pause(of method: String) -> Date? {
        pausedUntil.withLock { paused in
            guard let until = paused[method], until > now() else { paused[method] = nil; return nil }
            return until
        }
    }

    /// Until when some method is paused by a rate limit, if any is (the soonest end).
    public func anyPause() -> Date? {
        pausedUntil.withLock { paused in
            paused = paused.filter { $0.value > now() }
            return paused.values.min()
        }
    }

    /// Throws what a call of `method` would while a rate limit pauses it, without making one:
    /// a caller can skip its own work (rendering the message) that the call would waste.
    public func ensureNotPaused(_ method: String) throws(SlackDeliveryError) {
        if let until = pause(of: method) {
            throw .rateLimited(method: method, retryAfterSeconds: max(1, Int(until.timeIntervalSince(now()).rounded(.up))))
        }
    }

    /// `chat.postMessage`; returns the message's `ts`.
    public func postMessage(
        channel: String, text: String, blocksJSON: String?, threadTS: String?,
        metadata: SlackMessageMetadata? = nil
    ) async throws(SlackDeliveryError) -> String {
        var body: [String: Any] = ["channel": channel, "text": text, "unfurl_links": false]
        if let threadTS { body["thread_ts"] = threadTS }
        if let blocks = Self.blocks(blocksJSON) { body["blocks"] = blocks }
        if let metadata {
            body["metadata"] = ["event_type": SlackMessageMetadata.eventType, "event_payload": ["notice_id": metadata.noticeID]]
        }
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

    /// A reply through a slash command's or a click's `response_url` (no token needed). Slack
    /// keeps such a URL for 30 minutes and 5 replies.
    public func respond(responseURL: String, text: String, inChannel: Bool = false) async throws(SlackDeliveryError) {
        guard let url = URL(string: responseURL), url.scheme == "https" || url.scheme == "http" else {
            throw .permanent("response_url is not a URL")
        }
        let body: [String: Any] = ["response_type": inChannel ? "in_channel" : "ephemeral", "replace_original": false, "text": text]
        _ = try await send(method: "response_url", url: url, body: body, authorized: false, expectJSON: false)
    }

    /// The bot's posts since `oldest` in a channel (or in a thread), with their metadata.
    public func recentMessages(channel: String, thread: String?, oldest: Date) async throws(SlackDeliveryError) -> [SlackHistoryMessage] {
        var body: [String: Any] = [
            "channel": channel, "oldest": String(format: "%.6f", oldest.timeIntervalSince1970),
            "include_all_metadata": true, "limit": 200,
        ]
        if let thread { body["ts"] = thread }
        let answer = try await call(thread == nil ? "conversations.history" : "conversations.replies", body)
        return (answer["messages"] as? [[String: Any]] ?? []).compactMap { message in
            guard let ts = message["ts"] as? String else { return nil }
            let metadata = message["metadata"] as? [String: Any]
            let payload = metadata?["event_payload"] as? [String: Any]
            let id = metadata?["event_type"] as? String == SlackMessageMetadata.eventType ? (payload?["notice_id"] as? NSNumber)?.int64Value : nil
            return SlackHistoryMessage(ts: ts, noticeID: id)
        }
    }

    /// The text of every message in a channel (not in threads), oldest first: `conversations.history`
    /// page by page (Slack gives the newest first), at most `pages` pages of 200. A 429 is waited
    /// out (`Retry-After`) up to ten times: this is for a person at a terminal, not the webhook.
    public func channelTexts(channel: String, pages: Int = 500) async throws(SlackDeliveryError) -> [String] {
        var texts: [String] = []
        var cursor = ""
        var waits = 0
        for _ in 0..<pages {
            var body: [String: Any] = ["channel": channel, "limit": 200]
            if !cursor.isEmpty { body["cursor"] = cursor }
            let answer: [String: Any]
            do {
                answer = try await call("conversations.history", body)
            } catch .rateLimited(_, let seconds) where waits < 10 {
                waits += 1
                try? await Task.sleep(for: .seconds(seconds))
                continue
            }
            texts += (answer["messages"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
            cursor = (answer["response_metadata"] as? [String: Any])?["next_cursor"] as? String ?? ""
            guard answer["has_more"] as? Bool == true, !cursor.isEmpty else { return texts.reversed() }
        }
        throw .permanent("the channel holds more than \(pages * 200) messages; save its checkpoint lines to a file and give --checkpoints")
    }

    /// `conversations.info`: whether the bot is a member of the channel.
    public func isMember(of channel: String) async throws(SlackDeliveryError) -> Bool {
        let answer = try await call("conversations.info", ["channel": channel])
        return (answer["channel"] as? [String: Any])?["is_member"] as? Bool ?? false
    }

    /// `auth.test`: the bot token works; returns the team and bot user names.
    public func authTest() async throws(SlackDeliveryError) -> String {
        let answer = try await call("auth.test", [:])
        return "\(answer["team"] as? String ?? "?") as \(answer["user"] as? String ?? "?")"
    }

    /// `usergroups.users.list`: the user ids in a user group (scope `usergroups:read`).
    public func userGroupMembers(_ group: String) async throws(SlackDeliveryError) -> [String] {
        let answer = try await exchange(
            method: "usergroups.users.list", url: apiURL.appendingPathComponent("usergroups.users.list"),
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Bearer \(token.reveal())")],
            body: Data(FormDecoding.encode([("usergroup", group)]).utf8), expectJSON: true)
        guard answer["ok"] as? Bool == true else { throw .permanent("usergroups.users.list: \(answer["error"] as? String ?? "unknown_error")") }
        return answer["users"] as? [String] ?? []
    }

    /// `apps.connections.open` with the app-level token: the WebSocket URL of a new Socket
    /// Mode connection (each URL is good for one connection).
    public func openSocketModeConnection(appToken: Secret) async throws(SlackDeliveryError) -> String {
        let method = "apps.connections.open"
        if let until = pause(of: method) {
            throw .rateLimited(method: method, retryAfterSeconds: max(1, Int(until.timeIntervalSince(now()).rounded(.up))))
        }
        let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Bearer \(appToken.reveal())")]
        let answer: [String: Any]
        do { answer = try await exchange(method: method, url: apiURL.appendingPathComponent(method), headers: headers, body: nil, expectJSON: true) } catch {
            observeFailure(method, error)
            throw error
        }
        guard answer["ok"] as? Bool == true, let url = answer["url"] as? String else {
            let error = answer["error"] as? String ?? "no_url"
            observe(method, error)
            throw .permanent("\(method): \(error)")
        }
        observe(method, "ok")
        return url
    }

    /// Rendered blocks go into the request as they are, not parsed and written again.
    private static func blocks(_ json: String?) -> Any? {
        json.map { JSONText.RawJSON(text: $0) }
    }

    private func call(_ method: String, _ body: [String: Any]) async throws(SlackDeliveryError) -> [String: Any] {
        let answer = try await send(method: method, url: apiURL.appendingPathComponent(method), body: body, authorized: true, expectJSON: true)
        guard answer["ok"] as? Bool == true else {
            let error = answer["error"] as? String ?? "unknown_error"
            let transient: Set<String> = ["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"]
            throw transient.contains(error) ? .transient("\(method): \(error)") : .permanent("\(method): \(error)")
        }
        return answer
    }

    private func send(method: String, url: URL, body: [String: Any], authorized: Bool, expectJSON: Bool) async throws(SlackDeliveryError) -> [String: Any] {
        if let until = pause(of: method) {
            throw .rateLimited(method: method, retryAfterSeconds: max(1, Int(until.timeIntervalSince(now()).rounded(.up))))
        }
        var headers = [("Content-Type", "application/json; charset=utf-8")]
        if authorized { headers.append(("Authorization", "Bearer \(token.reveal())")) }
        do {
            let answer = try await exchange(method: method, url: url, headers: headers, body: Data(JSONText.encode(body).utf8), expectJSON: expectJSON)
            observe(method, !expectJSON || answer["ok"] as? Bool == true ? "ok" : answer["error"] as? String ?? "unknown_error")
            return answer
        } catch {
            observeFailure(method, error)
            throw error
        }
    }

    private func observeFailure(_ method: String, _ error: SlackDeliveryError) {
        switch error {
        case .rateLimited: observe(method, "rate_limited")
        case .transient: observe(method, "transient")
        case .permanent: observe(method, "permanent")
        }
    }

    private func exchange(
        method: String, url: URL, headers: [(String, String)], body: Data?, expectJSON: Bool
    ) async throws(SlackDeliveryError) -> [String: Any] {
        let path = url.path
        let answer: OutboundHTTP.Answer
        do {
            answer = try await http.send(.post, url, headers: headers, body: body, timeout: Self.timeout)
        } catch {
            throw .transient("\(path): \(error.reason)")
        }
        let status = answer.status
        if status == 429 {
            let retryAfter = answer.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 1
            let seconds = min(max(1, retryAfter), 3600)
            pausedUntil.withLock { $0[method] = now().addingTimeInterval(TimeInterval(seconds)) }
            throw .rateLimited(method: method, retryAfterSeconds: seconds)
        }
        if status >= 500 || status == 0 { throw .transient("HTTP \(status) from \(path)") }
        if status == 404 || status == 410 { throw .permanent("HTTP \(status) from \(path): expired_url") }
        if status >= 400 { throw .permanent("HTTP \(status) from \(path)") }
        guard expectJSON else { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any] else {
            throw .transient("\(path) answered with something that is not JSON")
        }
        return object
    }
}
