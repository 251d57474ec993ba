import CoxswainCore
import Foundation

/// What each button Coxswain posts stands for, whatever the platform: its action id and the
/// value it carries become the command it offers, so a click goes through the same dispatcher
/// (and the same permission and approval rules) as the typed command.
enum ButtonCommands {
    /// The command a button stands for, and the plan it showed (a click counts only for it).
    static func command(action actionID: String, value: String, rollbackCommand: String) -> Result<(ParsedCommand, String?), CommandError> {
        let parts = value.split(separator: ":", maxSplits: 2).map(String.init)
        switch actionID {
        case "approve", "deny", "confirm":
            guard parts.count >= 2, let id = Int64(parts[0]) else { return .failure(CommandError("This button carries no job; type the command instead.")) }
            let key = parts.dropFirst().joined(separator: ":")
            let command: ParsedCommand =
                actionID == "approve" ? .approve(jobID: id) : actionID == "deny" ? .deny(jobID: id, reason: nil) : .confirm(jobID: id)
            return .success((command, key))
        case "acknowledge":
            guard let id = Int64(value) else { return .failure(CommandError("This button carries no job; type the command instead.")) }
            return .success((.acknowledge(jobID: id), nil))
        case "rollback":
            // "Roll back to revision N" after a failed upgrade (JOB:RELEASE:REVISION) or a watch's
            // breach (…:watch): a new rollback by the clicker, with the same permission checks
            // and approvals as a typed one.
            let fields = value.split(separator: ":", maxSplits: 3).map(String.init)
            guard fields.count == 3 || (fields.count == 4 && fields[3] == "watch"), let job = Int64(fields[0]), let revision = Int(fields[2]),
                revision > 0, Validation.isReleaseName(fields[1])
            else {
                return .failure(CommandError("This button carries no usable rollback target."))
            }
            let reason = fields.count == 4 ? "watch breach after job #\(job)" : "after failed job #\(job)"
            return .success((.change(.rollback(fields[1], revision: revision, reason: reason, command: rollbackCommand)), nil))
        default:
            return .failure(CommandError("Coxswain does not know the button `\(actionID.prefix(40))`."))
        }
    }
}
