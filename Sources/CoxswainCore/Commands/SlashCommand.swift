import Foundation

/// A chat command after parsing, independent of the chat platform it came from.
public enum SlashCommand: Sendable, Equatable {
    case rollback(RollbackRequest)
    /// `/approve JOB`
    case approve(jobID: Int64)
    /// `/deny JOB [reason]`
    case deny(jobID: Int64, reason: String?)
    /// `/cancel JOB`
    case cancel(jobID: Int64)
    /// `/ack JOB`: an approver acknowledges a break-glass rollback afterwards.
    case acknowledge(jobID: Int64)
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
    /// The commands Coxswain answers, by their slash name.
    public static let known = ["/rollback", "/approve", "/deny", "/cancel", "/ack"]

    public static func parse(command: String, text: String) -> Result<SlashCommand, CommandError> {
        switch command {
        case "/rollback": return RollbackCommand.parse(text).map { $0 }
        case "/approve", "/deny", "/cancel", "/ack": return JobCommand.parse(command: command, text: text)
        default:
            return .failure(CommandError("Coxswain does not know the command `\(command)`. Commands it knows: \(known.joined(separator: ", ")). Try `/rollback help`."))
        }
    }
}
