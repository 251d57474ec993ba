import CoxswainCore
import Crypto
import Foundation

/// A Mattermost custom slash command as the Mattermost server posts it (a form). Mattermost
/// signs nothing: the command's token, in `Authorization: Token …` and the `token` field, is
/// what proves it came from there (`MattermostCommandTokens`).
public struct MattermostSlashCommand: Sendable, Equatable {
    public var command: String
    public var text: String
    public var userID: String
    public var userName: String
    public var channelID: String
    public var teamID: String
    public var token: String?
    public var triggerID: String?
    public var responseURL: String?

    public struct Malformed: Error, CustomStringConvertible {
        public let missing: String
        public var description: String { "slash command payload has no `\(missing)`" }
    }

    public init(form: [String: String]) throws(Malformed) {
        func require(_ name: String) throws(Malformed) -> String {
            guard let value = form[name], !value.isEmpty else { throw Malformed(missing: name) }
            return value
        }
        command = try require("command")
        userID = try require("user_id")
        userName = try require("user_name")
        channelID = try require("channel_id")
        text = form["text"] ?? ""
        teamID = form["team_id"] ?? ""
        token = form["token"].flatMap { $0.isEmpty ? nil : $0 }
        triggerID = form["trigger_id"].flatMap { $0.isEmpty ? nil : $0 }
        responseURL = form["response_url"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Mattermost makes a new `trigger_id` per invocation; without one, the body's hash stands in.
    public func idempotencyKey(rawBody: Data) -> String {
        "mattermost:" + (triggerID ?? Hex.string(SHA256.hash(data: rawBody)))
    }
}

/// The tokens Mattermost gave Coxswain's slash commands (one per command). A request counts as
/// Mattermost's when its token equals one of them; every one is compared, each in constant
/// time, so the answer's timing says nothing about how much of a token was right.
public struct MattermostCommandTokens: Sendable {
    private let digests: [Data]

    public init(_ tokens: [String]) {
        digests = tokens.filter { !$0.isEmpty }.map { Data(SHA256.hash(data: Data($0.utf8))) }
    }

    public var isEmpty: Bool { digests.isEmpty }

    /// `header`: the `Authorization` header (`Token …`); `field`: the form's `token`. Both, when
    /// both are sent, must be the same known token.
    public func verify(header: String?, field: String?) -> Bool {
        let fromHeader = header.flatMap { $0.hasPrefix("Token ") ? String($0.dropFirst(6)) : nil }
        guard let token = fromHeader ?? field, !token.isEmpty, field == nil || field == token else { return false }
        // Hashing first gives equal lengths; each comparison looks at every byte.
        let candidate = Data(SHA256.hash(data: Data(token.utf8)))
        return digests.reduce(false) { found, digest in
            zip(digest, candidate).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0 || found
        }
    }
}

/// A click on a button Coxswain posted. Mattermost posts it unsigned, with the `context` the
/// button was made with; that context carries an HMAC of the action and its value (the job and
/// the plan it showed) under a key only Coxswain holds, so a context cannot be made up or
/// altered. Who clicked is Mattermost's word (`user_id`): the route must be reachable from the
/// Mattermost server only (the chart's NetworkPolicy).
public struct MattermostActionRequest: Sendable, Equatable {
    public var userID: String
    public var userName: String?
    public var channelID: String
    public var postID: String
    public var context: [String: String]

    public struct Malformed: Error, CustomStringConvertible {
        public let why: String
        public var description: String { why }
    }

    public init(json body: Data) throws(Malformed) {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { throw Malformed(why: "the body is not a JSON object") }
        func text(_ name: String) -> String? { (object[name] as? String).flatMap { $0.isEmpty ? nil : $0 } }
        guard let user = text("user_id") else { throw Malformed(why: "no user_id") }
        guard let context = object["context"] as? [String: Any] else { throw Malformed(why: "no context") }
        userID = user
        userName = text("user_name")
        channelID = text("channel_id") ?? ""
        postID = text("post_id") ?? ""
        self.context = context.compactMapValues { $0 as? String }
    }
}

/// Signs and checks buttons' contexts: `{"action": …, "value": …, "sig": HMAC-SHA256}`. The key
/// is derived from the bot token (HKDF), so no other secret is needed; a new bot token makes
/// old buttons invalid, which is what a rotated secret should do.
public struct MattermostActionSigner: Sendable {
    private let keyBytes: Data
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public init(botToken: String) {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(botToken.utf8)), info: Data("coxswain mattermost button context".utf8), outputByteCount: 32)
        keyBytes = derived.withUnsafeBytes { Data($0) }
    }

    public func context(action: String, value: String) -> [String: String] {
        ["action": action, "value": value, "sig": Hex.string(HMAC<SHA256>.authenticationCode(for: Self.signed(action, value), using: key))]
    }

    /// The action and value a context stands for; nil when it was not made by this signer as it is.
    public func verify(_ context: [String: String]) -> (action: String, value: String)? {
        guard let action = context["action"], let value = context["value"], let sig = context["sig"].flatMap(Hex.bytes) else { return nil }
        guard HMAC<SHA256>.isValidAuthenticationCode(Data(sig), authenticating: Self.signed(action, value), using: key) else { return nil }
        return (action, value)
    }

    /// Length-prefixed, so that no two (action, value) pairs sign the same bytes.
    private static func signed(_ action: String, _ value: String) -> Data {
        Data("\(action.utf8.count):\(action)\(value)".utf8)
    }
}
