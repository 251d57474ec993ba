import CoxswainCore
import Crypto
import Foundation

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

    /// `+` is a space, `%XX` a byte; nil for a broken escape or bytes that are not UTF-8
    /// (as `removingPercentEncoding`, which cost a twentieth of the webhook's CPU).
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
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
