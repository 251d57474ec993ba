import Foundation

/// `/approve JOB`, `/deny JOB [REASON…]`, `/cancel JOB`, `/ack JOB`: commands about a job
/// that already exists. JOB is its number, with or without `#`.
enum JobCommand {
    static func usage(_ command: String) -> String {
        switch command {
        case "/deny": return "/deny JOB [REASON…]"
        default: return "\(command) JOB"
        }
    }

    static func parse(command: String, text: String) -> Result<SlashCommand, CommandError> {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let first = words.first else {
            return .failure(CommandError("`\(command)` needs a job number. Usage: `\(usage(command))`. Example: `\(command) 12`"))
        }
        if ["help", "--help", "-h"].contains(first.lowercased()) {
            return .success(.help("*\(usage(command))* — the job number is in the job's message, e.g. `Job #12`."))
        }
        let digits = first.hasPrefix("#") ? String(first.dropFirst()) : first
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let id = Int64(digits), id > 0 else {
            return .failure(CommandError("`\(first.prefix(30))` is not a job number. Usage: `\(usage(command))`. Example: `\(command) 12`"))
        }
        let rest = words.dropFirst().joined(separator: " ")
        switch command {
        case "/approve": return rest.isEmpty ? .success(.approve(jobID: id)) : .failure(CommandError("`/approve` takes only the job number. Example: `/approve \(id)`"))
        case "/deny": return .success(.deny(jobID: id, reason: rest.isEmpty ? nil : String(rest.prefix(500))))
        case "/cancel": return .success(.cancel(jobID: id))
        default: return .success(.acknowledge(jobID: id))
        }
    }
}
