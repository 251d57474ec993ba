import CoxswainCore
import Crypto
import Foundation

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
        "slack:" + (triggerID ?? Hex.string(SHA256.hash(data: rawBody)))
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
