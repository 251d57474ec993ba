import Foundation

/// A button click as Slack posts it to the interactivity URL: a `block_actions` payload in
/// the form field `payload` (the fields Coxswain uses).
public struct SlackBlockAction: Sendable, Equatable {
    public var userID: String
    public var actionID: String
    public var value: String
    public var channelID: String?
    public var responseURL: String?

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    public init(form: [String: String]) throws(Malformed) {
        guard let text = form["payload"],
            let payload = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        else {
            throw Malformed(description: "no JSON `payload` field")
        }
        guard payload["type"] as? String == "block_actions" else {
            throw Malformed(description: "payload type \(payload["type"] as? String ?? "none") is not handled; only block_actions")
        }
        guard let user = (payload["user"] as? [String: Any])?["id"] as? String,
            let action = (payload["actions"] as? [[String: Any]])?.first,
            let actionID = action["action_id"] as? String
        else {
            throw Malformed(description: "block_actions payload without user or action")
        }
        self.userID = user
        self.actionID = actionID
        self.value = action["value"] as? String ?? ""
        self.channelID = (payload["channel"] as? [String: Any])?["id"] as? String
        self.responseURL = payload["response_url"] as? String
    }
}
