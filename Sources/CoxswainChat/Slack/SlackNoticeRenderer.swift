import CoxswainCore
import Foundation

/// Renders the domain's notices as Slack messages: mrkdwn text (what notifications and
/// screen readers show) and Block Kit blocks (what the channel shows). All Slack markup
/// lives here.
public struct SlackNoticeRenderer: Sendable {
    public struct Rendered: Sendable, Equatable {
        public var text: String
        public var blocksJSON: String?
    }

    /// The slash command for a typed command's verb in this workspace: `approve` → `/cx-approve`.
    let slashCommand: @Sendable (String) -> String

    public init(slashCommand: @escaping @Sendable (String) -> String = { "/" + $0 }) {
        self.slashCommand = slashCommand
    }

    public func render(_ notice: Notice) -> Rendered {
        switch notice.body {
        case .progress(let progress): return live(progress)
        case .message(let text, let actions):
            let body = mrkdwn(text)
            guard !actions.isEmpty else { return Rendered(text: Self.cut(body, to: 3900), blocksJSON: nil) }
            var blocks: [[String: Any]] = [section(body)]
            blocks.append(["type": "actions", "block_id": "\(actions[0].kind.rawValue)-\(notice.jobID ?? 0)", "elements": actions.map(button)])
            return Rendered(text: Self.cut(body, to: 3900), blocksJSON: Self.json(blocks))
        }
    }

    /// The body of an immediate answer to a slash command: ephemeral unless `inChannel`.
    /// Written directly: JSONSerialization cost a twentieth of the webhook's CPU for two fields.
    public func commandAnswer(_ text: RichText, inChannel: Bool) -> Data {
        Data("{\"response_type\":\"\(inChannel ? "in_channel" : "ephemeral")\",\"text\":\(Self.jsonString(mrkdwn(text)))}".utf8)
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A job's live message.
    func live(_ progress: JobProgress) -> Rendered {
        let header = "\(progress.state.symbol) *Job #\(progress.jobID)* · \(Self.escape(progress.planLine))"
        var context = "requested by \(mrkdwn("\(user: progress.requestedBy)"))"
        if let reason = progress.reason { context += " · reason: \(Self.escape(reason))" }
        if let handover = progress.handover { context += " · ↪ \(Self.escape(handover))" }
        let stepLines = progress.steps.map { step -> String in
            var line = "\(step.status?.symbol ?? "▫️") \(Self.escape(step.title))"
            if let ms = step.durationMilliseconds { line += " — \(DurationText.format(milliseconds: ms))" }
            if let note = step.note, !note.isEmpty { line += " · \(Self.escape(note))" }
            return line
        }
        let summary = progress.summary.map(mrkdwn)
        var blocks: [[String: Any]] = [
            section(header),
            ["type": "context", "elements": [["type": "mrkdwn", "text": context]]],
        ]
        if !stepLines.isEmpty { blocks.append(section(stepLines.joined(separator: "\n"))) }
        if !summary.isEmpty { blocks.append(section(summary.joined(separator: "\n"))) }
        let text = ([header, context] + stepLines + summary).joined(separator: "\n")
        return Rendered(text: Self.cut(text, to: 3900), blocksJSON: Self.json(blocks))
    }

    /// Rich text as Slack mrkdwn.
    public func mrkdwn(_ text: RichText) -> String {
        text.segments.map { segment in
            switch segment {
            case .plain(let words): return Self.escape(words)
            // A Mattermost user (on a job asked there) cannot be mentioned in Slack.
            case .user(let id): return id.hasPrefix("mattermost:") ? "`\(id)`" : "<@\(id)>"
            case .userGroup(let id): return "<!subteam^\(id)>"
            case .channel(let id): return "<#\(id)>"
            case .code(let code): return "`\(Self.escape(code.replacingOccurrences(of: "`", with: "'")))`"
            case .strong(let words): return "*\(Self.escape(words))*"
            case .preformatted(let block):
                let excerpt = block.count > 2800 ? String(block.prefix(2800)) + "\n… (cut)" : block
                return "```\n\(Self.escape(excerpt.replacingOccurrences(of: "```", with: "'''")))\n```"
            case .link(let url, let label): return "<\(url)|\(Self.escape(label))>"
            case .command(let typed): return "`\(Self.escape(typedCommand(typed)))`"
            }
        }.joined()
    }

    /// `approve 12` as this workspace types it: `/approve 12`, or `/cx-approve 12` with a prefix.
    public func typedCommand(_ typed: String) -> String {
        let words = typed.split(separator: " ", maxSplits: 1).map(String.init)
        guard let verb = words.first else { return typed }
        return ([slashCommand(verb)] + words.dropFirst()).joined(separator: " ")
    }

    private func button(_ action: NoticeAction) -> [String: Any] {
        var element: [String: Any] = [
            "type": "button", "action_id": action.kind.rawValue, "value": action.value,
            "text": ["type": "plain_text", "text": action.label],
        ]
        if let style = action.style { element["style"] = style.rawValue }
        if let confirmation = action.confirmation {
            element["confirm"] = [
                "title": ["type": "plain_text", "text": confirmation.title],
                "text": ["type": "mrkdwn", "text": mrkdwn(confirmation.text)],
                "confirm": ["type": "plain_text", "text": action.label], "deny": ["type": "plain_text", "text": "Cancel"],
            ]
        }
        return element
    }

    private func section(_ text: String) -> [String: Any] {
        ["type": "section", "text": ["type": "mrkdwn", "text": Self.cut(text, to: 2900)]]
    }

    /// Slack's three control characters in mrkdwn.
    /// Slack's three escapes (`&`, `<`, `>`) in one pass over the bytes; text without them is returned as it is.
    /// (Three `replacingOccurrences` went through NSString: 7 % of the webhook's CPU with every post rendered.)
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E }) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case 0x26: bytes.append(contentsOf: "&amp;".utf8)
            case 0x3C: bytes.append(contentsOf: "&lt;".utf8)
            case 0x3E: bytes.append(contentsOf: "&gt;".utf8)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func cut(_ text: String, to limit: Int) -> String {
        text.count > limit ? String(text.prefix(limit - 10)) + "\n… (cut)" : text
    }

    static func json(_ value: Any) -> String {
        JSONText.encode(value)
    }
}
