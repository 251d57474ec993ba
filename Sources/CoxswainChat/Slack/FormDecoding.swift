import Foundation
import Crypto

/// `application/x-www-form-urlencoded`, as Slack posts slash commands and interactions.
public enum FormDecoding {
    public static func fields(_ body: Data) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? (decode(parts[1]) ?? "") : ""
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The inverse, for tests and tools that play Slack.
    public static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }
}

/// A slash command as Slack posts it (the fields Coxswain uses).
public struct SlackSlashCommand: Sendable, Equatable {
    public var command: String
    public var text: String
    public var userID: String
    public var userName: String
    public var channelID: String
    public var teamID: String
    public var triggerID: String?
    public var responseURL: String?

    public struct Malformed: Error, CustomStringConvertible {
        public let missing: String
        public var description: String { "slash command payload has no `\(missing)`" }
    }

    /// Slack sends a fresh `trigger_id` with every invocation; a retried delivery carries
    /// the same one. Without it, the body's hash stands in.
    public func idempotencyKey(rawBody: Data) -> String {
        "slack:" + (triggerID ?? SHA256.hash(data: rawBody).map { String(format: "%02x", $0) }.joined())
    }

    public init(form: [String: String]) throws(Malformed) {
        func require(_ name: String) throws(Malformed) -> String {
            guard let value = form[name], !value.isEmpty else { throw Malformed(missing: name) }
            return value
        }
        command = try require("command")
        userID = try require("user_id")
        channelID = try require("channel_id")
        text = form["text"] ?? ""
        userName = form["user_name"] ?? userID
        teamID = form["team_id"] ?? ""
        triggerID = form["trigger_id"].flatMap { $0.isEmpty ? nil : $0 }
        responseURL = form["response_url"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
