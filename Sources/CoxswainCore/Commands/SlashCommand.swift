import Foundation

/// A chat command after parsing, independent of the chat platform it came from.
public enum SlashCommand: Sendable, Equatable {
    case rollback(RollbackRequest)
    case upgrade(UpgradeRequest)
    /// `/approve JOB`
    case approve(jobID: Int64)
    /// `/deny JOB [reason]`
    case deny(jobID: Int64, reason: String?)
    /// `/cancel JOB`
    case cancel(jobID: Int64)
    /// `/ack JOB`: an approver acknowledges a break-glass rollback afterwards.
    case acknowledge(jobID: Int64)
    /// `/history`, `/status`, `/releases`, `/jobs`: read-only, no approval.
    case query(Query, public: Bool)
    /// `help` or an empty command: answer with the usage, start nothing.
    case help(String)
}

/// A command that could not be parsed. `message` is shown to the user as is: it says what
/// was wrong, what is accepted and gives an example.
public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum SlashCommandParser {
    /// `/coxswain help`: every command with its usage and an example.
    public static let overview = """
        *Coxswain commands*
        • `/rollback RELEASE [REVISION] [REASON…]` — roll back, validated. `/rollback llama-2-7b-production 3 pods OOM`
        • `/rollback RELEASE --emergency REASON` — break-glass for on-call, no approval. `/rollback llama-2-7b-production --emergency error rate 40%`
        • `/upgrade RELEASE VERSION [REASON…]` — upgrade to a chart version, validated. `/upgrade llama-2-7b-staging 0.3.0`
        • `/approve JOB` · `/deny JOB [REASON…]` — decide on a production change. `/approve 12`
        • `/cancel JOB` — before it starts, or between steps. `/cancel 12`
        • `/ack JOB` — acknowledge a break-glass rollback. `/ack 12`
        • `/history RELEASE` — Helm history with the Coxswain job behind each revision. `/history llama-2-7b-production`
        • `/status RELEASE` — helm status, pods, registry, health, open jobs. `/status llama-2-7b-production`
        • `/releases [ENVIRONMENT]` — the releases Coxswain knows. `/releases production`
        • `/jobs [RELEASE]` — recent jobs. `/jobs llama-2-7b-production`
        Read-only answers are only for you; add `--public` to post them in the channel.
        """

    /// The commands Coxswain answers, by their slash name.
    public static let known = ["/rollback", "/upgrade", "/approve", "/deny", "/cancel", "/ack", "/history", "/status", "/releases", "/jobs", "/coxswain"]

    public static func parse(command: String, text: String) -> Result<SlashCommand, CommandError> {
        switch command {
        case "/rollback": return RollbackCommand.parse(text).map { $0 }
        case "/upgrade": return UpgradeCommand.parse(text)
        case "/approve", "/deny", "/cancel", "/ack": return JobCommand.parse(command: command, text: text)
        case "/history", "/status", "/releases", "/jobs": return QueryCommand.parse(command: command, text: text)
        case "/coxswain": return .success(.help(overview))
        default:
            return .failure(CommandError("Coxswain does not know the command `\(command)`. Commands it knows: \(known.joined(separator: ", ")). Try `/rollback help`."))
        }
    }
}
