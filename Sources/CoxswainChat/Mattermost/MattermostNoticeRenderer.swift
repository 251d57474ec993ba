import CoxswainCore
import Foundation

/// Renders the domain's notices as Mattermost posts: Markdown (`**bold**`, no Block Kit) and,
/// for decisions, message attachments whose buttons post back to Coxswain with a signed
/// context. All Mattermost markup lives here.
public struct MattermostNoticeRenderer: Sendable {
    /// A post's `message` and `props` (attachments with buttons), as JSON objects.
    public struct Rendered: @unchecked Sendable {
        public var message: String
        public var props: [String: Any]
    }

    /// The prefix members carry in `members:` (`mattermost:alice`), and users' ids in jobs.
    public static let userPrefix = "mattermost:"
    /// Mattermost's limit is 16,383 characters per post.
    static let limit = 16_000

    let slashCommand: @Sendable (String) -> String
    let signer: MattermostActionSigner
    /// Where buttons post their clicks: Coxswain's `/mattermost/actions`.
    let actionURL: String

    public init(signer: MattermostActionSigner, actionURL: String, slashCommand: @escaping @Sendable (String) -> String = { "/" + $0 }) {
        self.signer = signer; self.actionURL = actionURL; self.slashCommand = slashCommand
    }

    public func render(_ notice: Notice) -> Rendered {
        switch notice.body {
        case .progress(let progress): return Rendered(message: live(progress), props: [:])
        case .message(let text, let actions):
            let body = Self.cut(markdown(text))
            guard !actions.isEmpty else { return Rendered(message: body, props: [:]) }
            let attachment: [String: Any] = ["text": "", "actions": actions.map(button)]
            return Rendered(message: body, props: ["attachments": [attachment]])
        }
    }

    /// The body of an immediate answer to a slash command: ephemeral unless `inChannel`.
    public func commandAnswer(_ text: RichText, inChannel: Bool) -> Data {
        Data(JSONText.encode(["response_type": inChannel ? "in_channel" : "ephemeral", "text": Self.cut(markdown(text))]).utf8)
    }

    /// The answer to a click: the clicker's note, only for them.
    public func actionAnswer(_ text: RichText) -> Data {
        Data(JSONText.encode(["ephemeral_text": Self.cut(markdown(text))]).utf8)
    }

    func live(_ progress: JobProgress) -> String {
        var context = "requested by \(user(progress.requestedBy))"
        if let reason = progress.reason { context += " · reason: \(Self.escape(reason))" }
        if let handover = progress.handover { context += " · ↪ \(Self.escape(handover))" }
        let steps = progress.steps.map { step -> String in
            var line = "\(step.status?.symbol ?? "▫️") \(Self.escape(step.title))"
            if let ms = step.durationMilliseconds { line += " — \(DurationText.format(milliseconds: ms))" }
            if let note = step.note, !note.isEmpty { line += " · \(Self.escape(note))" }
            return line
        }
        let lines = ["\(progress.state.symbol) **Job #\(progress.jobID)** · \(Self.escape(progress.planLine))", context] + steps
        // Two spaces end a line without a paragraph between steps.
        return Self.cut((lines.map { $0 + "  " } + [""] + progress.summary.map(markdown)).joined(separator: "\n"))
    }

    /// Rich text as Mattermost Markdown.
    public func markdown(_ text: RichText) -> String {
        text.segments.map { segment -> String in
            switch segment {
            case .plain(let words): return Self.escape(words)
            case .user(let id): return user(id)
            case .userGroup(let id): return "`\(Self.code(id))`"
            case .channel(let id): return "`\(Self.code(id))`"
            case .code(let code): return "`\(Self.code(code))`"
            case .strong(let words): return "**\(Self.escape(words))**"
            case .preformatted(let block): return "\n```\n\(block.replacingOccurrences(of: "```", with: "'''"))\n```\n"
            case .link(let url, let label): return "[\(Self.escape(label))](\(url.replacingOccurrences(of: ")", with: "%29")))"
            case .command(let typed): return "`\(Self.code(typedCommand(typed)))`"
            }
        }.joined()
    }

    /// A Mattermost user by name (`mattermost:alice` → `@alice`, which notifies them); one named
    /// by id, or anyone else (a Slack user on a job asked there), as written, notifying nobody
    /// (Markdown has no mention by id).
    func user(_ id: String) -> String {
        let name = id.dropFirst(Self.userPrefix.count)
        guard id.hasPrefix(Self.userPrefix), !Validation.isMattermostID(String(name)) else { return "`\(Self.code(id))`" }
        return "@" + name
    }

    public func typedCommand(_ typed: String) -> String {
        let words = typed.split(separator: " ", maxSplits: 1).map(String.init)
        guard let verb = words.first else { return typed }
        return ([slashCommand(verb)] + words.dropFirst()).joined(separator: " ")
    }

    private func button(_ action: NoticeAction) -> [String: Any] {
        var button: [String: Any] = [
            "id": action.kind.rawValue, "name": action.label, "type": "button",
            "integration": ["url": actionURL, "context": signer.context(action: action.kind.rawValue, value: action.value)],
        ]
        switch action.style {
        case .primary?: button["style"] = "primary"
        case .danger?: button["style"] = "danger"
        case nil: break
        }
        return button
    }

    /// Markdown's inline characters escaped (`#` and `>` only where a line starts, where they
    /// would make a heading or a quote), and `@` kept from mentioning (`@channel` in a reason
    /// would notify everyone): a word joiner after it.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { "\\*_~`[]#>@".unicodeScalars.contains($0) }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        var lineStart = true
        for scalar in text.unicodeScalars {
            switch scalar {
            case "@": out += "@\u{2060}"
            case "\\", "*", "_", "~", "`", "[", "]": out += "\\" + String(scalar)
            case "#" where lineStart, ">" where lineStart: out += "\\" + String(scalar)
            default: out.unicodeScalars.append(scalar)
            }
            lineStart = scalar == "\n"
        }
        return out
    }

    /// Inside backticks nothing is Markdown; a backtick would end the span.
    static func code(_ text: String) -> String { text.replacingOccurrences(of: "`", with: "'") }

    static func cut(_ text: String) -> String {
        text.count > limit ? String(text.prefix(limit - 10)) + "\n… (cut)" : text
    }
}
