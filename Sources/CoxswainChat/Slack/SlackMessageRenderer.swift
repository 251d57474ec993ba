import Foundation
import CoxswainCore

/// Turns a job's progress into Slack messages: mrkdwn text (what notifications and
/// screen readers show) and Block Kit blocks (what the channel shows).
public enum SlackMessageRenderer {
    public struct Rendered: Sendable, Equatable {
        public var text: String
        public var blocksJSON: String
    }

    /// The job's one live message.
    public static func liveMessage(_ progress: JobProgress) -> Rendered {
        let header = "\(stateSymbol(progress.state)) *Job #\(progress.jobID)* · \(escape(progress.planLine))"
        var context = "requested by <@\(progress.requestedBy)>"
        if let reason = progress.reason { context += " · reason: \(escape(reason))" }
        let stepLines = progress.steps.map { step -> String in
            var line = "\(step.status?.symbol ?? "▫️") \(escape(step.title))"
            if let ms = step.durationMilliseconds { line += " — \(DurationText.format(milliseconds: ms))" }
            if let note = step.note, !note.isEmpty { line += " · \(escape(note))" }
            return line
        }
        var blocks: [[String: Any]] = [
            section(header),
            ["type": "context", "elements": [["type": "mrkdwn", "text": context]]],
            section(stepLines.joined(separator: "\n")),
        ]
        if !progress.summary.isEmpty { blocks.append(section(progress.summary.map(escape).joined(separator: "\n"))) }
        let text = ([header, context] + stepLines + progress.summary.map(escape)).joined(separator: "\n")
        return Rendered(text: text, blocksJSON: SlackBlocks.json(blocks))
    }

    /// A detail for the live message's thread: a title and a preformatted excerpt.
    public static func threadDetail(title: String, body: String) -> String {
        let excerpt = body.count > 2800 ? String(body.prefix(2800)) + "\n… (cut)" : body
        return excerpt.isEmpty ? "*\(escape(title))*" : "*\(escape(title))*\n```\n\(excerpt.replacingOccurrences(of: "```", with: "'''"))\n```"
    }

    /// The one-line entry for the audit channel.
    public static func auditLine(_ progress: JobProgress, outcome: String) -> String {
        "\(stateSymbol(progress.state)) Job #\(progress.jobID) \(escape(progress.planLine)) by <@\(progress.requestedBy)>: \(escape(outcome))"
    }

    static func stateSymbol(_ state: JobState) -> String {
        switch state {
        case .queued: return "🕒"
        case .running: return "⏳"
        case .succeeded: return "✅"
        case .failed: return "❌"
        case .interrupted: return "⚠️"
        case .awaitingApproval: return "🔐"
        case .denied: return "🚫"
        case .expired: return "⌛"
        case .cancelled: return "⏹️"
        }
    }

    /// Slack's three control characters in mrkdwn.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func section(_ text: String) -> [String: Any] {
        ["type": "section", "text": ["type": "mrkdwn", "text": String(text.prefix(2900))]]
    }
}
