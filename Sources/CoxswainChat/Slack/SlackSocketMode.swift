import Foundation

/// One message Slack sends over a Socket Mode connection. Slash commands and button clicks
/// arrive as envelopes that must be acknowledged with their `envelope_id` within 3 seconds;
/// their payload is what Slack would have posted to the request URL, so it is handed on as
/// the same form fields and goes through the same code.
public struct SlackSocketModeMessage: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The connection is ready.
        case hello
        /// Slack will close this connection (`refresh_requested`, `warning`, `link_disabled`).
        case disconnect(reason: String)
        case slashCommand
        case interaction
        /// Anything else with an envelope (`events_api`): acknowledged, not acted on.
        case other(String)
    }

    public let kind: Kind
    public let envelopeID: String?
    /// 0 for a first delivery; Slack redelivers an envelope that was not acknowledged in time.
    public let retryAttempt: Int
    /// The payload as the HTTP route receives it: a slash command's form fields, or a
    /// click's `payload` field holding its JSON.
    public let fields: [String: String]

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    public init(text: String) throws(Malformed) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw Malformed(description: "not a JSON object")
        }
        guard let type = object["type"] as? String else { throw Malformed(description: "no type") }
        envelopeID = object["envelope_id"] as? String
        retryAttempt = (object["retry_attempt"] as? NSNumber)?.intValue ?? 0
        let payload = object["payload"] as? [String: Any] ?? [:]
        switch type {
        case "hello":
            kind = .hello
            fields = [:]
        case "disconnect":
            kind = .disconnect(reason: object["reason"] as? String ?? "unknown")
            fields = [:]
        case "slash_commands":
            kind = .slashCommand
            fields = payload.compactMapValues { value in
                if let string = value as? String { return string }
                if let number = value as? NSNumber { return number.stringValue }
                return nil
            }
        case "interactive":
            kind = .interaction
            let data = (try? JSONSerialization.data(withJSONObject: payload)) ?? Data("{}".utf8)
            fields = ["payload": String(decoding: data, as: UTF8.self)]
        default:
            kind = .other(type)
            fields = [:]
        }
        if kind != .hello, !Self.isControl(kind), envelopeID?.isEmpty ?? true { throw Malformed(description: "\(type) without an envelope_id") }
    }

    private static func isControl(_ kind: Kind) -> Bool {
        if case .disconnect = kind { return true }
        return false
    }

    /// The acknowledgement of an envelope, with the answer a request URL would have returned
    /// as its body (a slash command's reply), if any.
    public static func acknowledgement(envelopeID: String, payload: Data?) -> String {
        var object: [String: Any] = ["envelope_id": envelopeID]
        if let payload, let answer = try? JSONSerialization.jsonObject(with: payload) { object["payload"] = answer }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
