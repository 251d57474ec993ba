import Foundation

/// What `/rollback` was asked to do.
public struct RollbackRequest: Sendable, Equatable, Codable {
    public var release: String
    /// The revision to roll back to; nil means "the newest revision before the current one
    /// that was once deployed successfully".
    public var revision: Int?
    public var reason: String?
    /// Break-glass: skip approval, `--wait=false`, loud audit; needs the `emergency` grant.
    public var emergency: Bool

    public init(release: String, revision: Int? = nil, reason: String? = nil, emergency: Bool = false) {
        self.release = release; self.revision = revision; self.reason = reason; self.emergency = emergency
    }
}

/// `/rollback RELEASE [REVISION] [REASON…]`
public enum RollbackCommand {
    public static let usage = "/rollback RELEASE [REVISION] [REASON…]  or  /rollback RELEASE [REVISION] --emergency REASON"
    public static let help = """
        *\(usage)*
        Rolls a Helm release back, with the model disabled in the registry until the rolled-back \
        pods answer /health and a completion within the SLO.
        • RELEASE: a release Coxswain knows, e.g. `llama-2-7b-production`
        • REVISION (optional): the Helm revision to go back to; default: the newest earlier revision that was deployed successfully
        • REASON (optional): free text, recorded in the audit trail
        • --emergency REASON: break-glass for on-call: no approval, helm rollback --wait=false, the audit channel is told at once and an approver must acknowledge afterwards (`/ack JOB`)
        Production changes wait for an approver: `/approve JOB`, `/deny JOB [reason]`; `/cancel JOB` stops a job between steps.
        Examples: `/rollback llama-2-7b-production`, `/rollback llama-2-7b-production 3`, \
        `/rollback llama-2-7b-production pods OOM after upgrade`
        """

    static func parse(_ text: String) -> Result<SlashCommand, CommandError> {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let release = words.first else {
            return .failure(CommandError("`/rollback` needs a release name. Usage: `\(usage)`. Example: `/rollback llama-2-7b-production`"))
        }
        if ["help", "--help", "-h"].contains(release.lowercased()) { return .success(.help(help)) }
        guard Validation.isReleaseName(release) else {
            return .failure(CommandError("`\(release.prefix(80))` is not a valid release name: use lowercase letters, digits and '-' (at most 53 characters). Usage: `\(usage)`. Example: `/rollback llama-2-7b-production 3`"))
        }
        var rest = Array(words.dropFirst())
        var revision: Int?
        if let first = rest.first, first.allSatisfy(\.isNumber) {
            guard let number = Int(first), number <= 1_000_000 else {
                return .failure(CommandError("`\(first.prefix(20))` is not a usable revision number. Usage: `\(usage)`. Example: `/rollback \(release) 3`"))
            }
            // helm's own convention: 0 means "the previous one", which Coxswain decides safely.
            revision = number == 0 ? nil : number
            rest.removeFirst()
        } else if let first = rest.first, first.hasPrefix("-"), Int(first) != nil {
            return .failure(CommandError("`\(first)` is not a revision: revisions are positive numbers. Usage: `\(usage)`. Example: `/rollback \(release) 3`"))
        }
        var emergency = false
        if let flag = rest.firstIndex(where: { $0 == "--emergency" || $0 == "--break-glass" }) {
            guard flag == 0 else {
                return .failure(CommandError("`--emergency` comes right after the release (and revision), followed by the reason. Example: `/rollback \(release) --emergency pods OOM, error rate 40%`"))
            }
            emergency = true
            rest.removeFirst()
            guard !rest.isEmpty else {
                return .failure(CommandError("A break-glass rollback needs a reason after `--emergency`; it goes to the audit channel. Example: `/rollback \(release) --emergency pods OOM, error rate 40%`"))
            }
        } else if let flag = rest.first(where: { $0.hasPrefix("--") }) {
            return .failure(CommandError("`\(flag.prefix(30))` is not an option of /rollback; the only option is `--emergency REASON`. Usage: `\(usage)`"))
        }
        let reason = rest.joined(separator: " ")
        return .success(.rollback(RollbackRequest(release: release, revision: revision, reason: reason.isEmpty ? nil : String(reason.prefix(500)), emergency: emergency)))
    }
}
