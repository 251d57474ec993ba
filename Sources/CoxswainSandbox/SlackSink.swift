import Foundation
import Hummingbird
import NIOCore

/// Where the sandbox's Coxswain sends its Slack messages: the Web API methods it calls,
/// answered as Slack answers them, with the messages kept so that `GET /slack/messages`
/// shows what a channel would. The sandbox has no Slack; this keeps delivery real.
actor SlackSink {
    struct Message {
        var channel: String
        var ts: String
        var threadTS: String?
        var text: String
        var metadata: JSON
    }
    private var messages: [Message] = []
    private var counter = 0

    func call(_ method: String, body: JSON) -> JSON {
        switch method {
        case "auth.test":
            return [
                "ok": true, "url": "https://sandbox.slack.invalid/", "team": "Sandbox", "user": "coxswain", "team_id": "T0SANDBOX", "user_id": "U0COXSWAIN",
            ]
        case "chat.postMessage":
            counter += 1
            let ts = String(format: "%d.%06d", 1_800_000_000 + counter, counter)
            let channel = body["channel"].string ?? ""
            messages.append(Message(channel: channel, ts: ts, threadTS: body["thread_ts"].string, text: body["text"].string ?? "", metadata: body["metadata"]))
            return ["ok": true, "channel": .string(channel), "ts": .string(ts), "message": ["text": body["text"], "ts": .string(ts)]]
        case "chat.update":
            guard let index = messages.firstIndex(where: { $0.channel == body["channel"].string && $0.ts == body["ts"].string }) else {
                return ["ok": false, "error": "message_not_found"]
            }
            messages[index].text = body["text"].string ?? messages[index].text
            return ["ok": true, "channel": body["channel"], "ts": body["ts"]]
        case "chat.postEphemeral":
            return ["ok": true, "message_ts": "1800000000.000000"]
        case "conversations.history", "conversations.replies":
            let channel = body["channel"].string
            let found = messages.filter { $0.channel == channel && (method == "conversations.history" || $0.threadTS == body["ts"].string) }
            return [
                "ok": true, "has_more": false,
                "messages": .array(found.reversed().map { ["type": "message", "ts": .string($0.ts), "text": .string($0.text), "metadata": $0.metadata] }),
            ]
        case "conversations.info":
            return ["ok": true, "channel": ["id": body["channel"], "is_member": true, "is_archived": false]]
        case "conversations.open":
            return ["ok": true, "channel": ["id": .string("D" + (body["users"].string ?? "USER"))]]
        case "usergroups.users.list":
            return ["ok": true, "users": []]
        default:
            return ["ok": false, "error": "unknown_method"]
        }
    }

    /// The messages of every channel, oldest first, as plain text.
    func transcript() -> String {
        messages.map { "[\($0.channel)\($0.threadTS.map { " thread \($0)" } ?? "")] \($0.text)" }.joined(separator: "\n\n") + "\n"
    }

    func respond(_ request: Request, segments: [String]) async throws -> Response {
        if segments == ["slack", "messages"] { return ModelEndpoints.text(transcript()) }
        guard segments.count == 3, segments[1] == "api" else { return ModelEndpoints.text("not a Slack method", status: .notFound) }
        let data = Data(buffer: try await request.body.collect(upTo: 4 * 1_048_576))
        var body: JSON = (try? JSON.parse(data)) ?? [:]
        if body.object == nil || body == [:] {
            // Form-encoded calls (some methods): key=value&…
            for pair in String(decoding: data, as: UTF8.self).split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                if parts.count == 2 { body[parts[0]] = .string(parts[1]) }
            }
            for (name, value) in request.uri.queryParameters { body[String(name)] = .string(String(value)) }
        }
        return KubernetesAPI.json(call(segments[2], body: body))
    }
}
