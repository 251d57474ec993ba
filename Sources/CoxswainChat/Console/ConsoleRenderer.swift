import CoxswainCore
import Foundation

/// Renders notices and replies for a terminal: plain lines, people as @U123, commands as
/// they are typed in `coxswain shell` (`approve 12`), buttons as the command to type.
public enum ConsoleRenderer {
    public static func text(_ text: RichText) -> String {
        text.segments.map { segment in
            switch segment {
            case .plain(let words), .strong(let words): return words
            case .user(let id), .userGroup(let id): return "@\(id)"
            case .channel(let id): return id == AccessPolicy.consoleChannel ? "the console" : "#\(id)"
            case .code(let code): return code
            case .preformatted(let block):
                return "\n" + block.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
            case .link(let url, let label): return "\(label) <\(url)>"
            case .command(let typed): return "'\(typed)'"
            }
        }.joined()
    }

    public static func render(_ notice: Notice) -> String {
        switch notice.body {
        case .progress(let progress): return self.progress(progress)
        case .message(let message, let actions):
            let choices = actions.map { "'\($0.typed)'" }.joined(separator: " or ")
            return text(message) + (actions.isEmpty ? "" : "\n  → type \(choices)")
        }
    }

    /// A job's live progress as lines.
    public static func progress(_ progress: JobProgress) -> String {
        var lines = [
            "\(progress.state.symbol) Job #\(progress.jobID) · \(progress.planLine) — \(progress.state.words)",
            "  requested by @\(progress.requestedBy)" + (progress.reason.map { " · reason: \($0)" } ?? ""),
        ]
        for step in progress.steps {
            var line = "  \(step.status?.symbol ?? "▫️") \(step.title)"
            if let ms = step.durationMilliseconds { line += " — \(DurationText.format(milliseconds: ms))" }
            if let note = step.note, !note.isEmpty { line += " · \(note)" }
            lines.append(line)
        }
        lines += progress.summary.map { "  " + text($0) }
        return lines.joined(separator: "\n")
    }
}
