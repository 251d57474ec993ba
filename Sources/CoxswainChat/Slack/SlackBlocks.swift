import Foundation

/// The few Block Kit pieces Coxswain posts, so the Slack format lives in this room and
/// the server only says what a message holds.
public enum SlackBlocks {
    public struct Button: Sendable {
        public var actionID: String
        public var label: String
        public var value: String
        public var style: String?
        /// A confirm dialog (title, mrkdwn text) shown before the click counts.
        public var confirm: (title: String, text: String)?

        public init(actionID: String, label: String, value: String, style: String? = nil, confirm: (title: String, text: String)? = nil) {
            self.actionID = actionID; self.label = label; self.value = value; self.style = style; self.confirm = confirm
        }
    }

    /// A mrkdwn section, optionally followed by a row of buttons, as blocks JSON.
    public static func message(_ text: String, buttons: [Button] = [], blockID: String? = nil) -> String {
        var blocks: [[String: Any]] = [["type": "section", "text": ["type": "mrkdwn", "text": String(text.prefix(2900))]]]
        if !buttons.isEmpty {
            var actions: [String: Any] = ["type": "actions", "elements": buttons.map(element)]
            if let blockID { actions["block_id"] = blockID }
            blocks.append(actions)
        }
        return json(blocks)
    }

    private static func element(_ button: Button) -> [String: Any] {
        var element: [String: Any] = ["type": "button", "action_id": button.actionID, "value": button.value,
                                      "text": ["type": "plain_text", "text": button.label]]
        if let style = button.style { element["style"] = style }
        if let confirm = button.confirm {
            element["confirm"] = ["title": ["type": "plain_text", "text": confirm.title], "text": ["type": "mrkdwn", "text": confirm.text],
                                  "confirm": ["type": "plain_text", "text": button.label], "deny": ["type": "plain_text", "text": "Cancel"]]
        }
        return element
    }

    static func json(_ value: Any) -> String {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
}
