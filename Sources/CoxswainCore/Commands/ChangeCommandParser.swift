import Foundation

/// `rollback RELEASE [REVISION] [REASON…]`, `rollback RELEASE --emergency REASON`,
/// `upgrade RELEASE VERSION [REASON…] [--override-promotion]`. A word starting with `-`
/// that is not an option is refused: a reason with dashes goes after `--` or in quotes.
enum ChangeCommandParser {
    static func rollbackUsage(_ invoked: String) -> String {
        "\(invoked) RELEASE [REVISION] [REASON…]  or  \(invoked) RELEASE [REVISION] --emergency REASON"
    }

    static func rollbackHelp(_ invoked: String) -> String {
        """
        *\(rollbackUsage(invoked))*
        Rolls a Helm release back, with the model disabled in the registry until the rolled-back pods answer /health and a \
        completion within the SLO.
        • RELEASE: a release Coxswain knows, e.g. `llama-2-7b-production`
        • REVISION (optional): the Helm revision to go back to; default: the newest earlier revision that deployed successfully \
        and was never rolled back from
        • REASON (optional): free text, recorded in the audit trail; words starting with `-` go after `--` or in quotes
        • --emergency REASON: break-glass for on-call: no approval, helm does not wait, the audit channel is told at once and \
        an approver must acknowledge afterwards
        Production changes wait for an approver. A second request for a release that already has a rollback under way joins it.
        Examples: `\(invoked) llama-2-7b-production`, `\(invoked) llama-2-7b-production 3`, \
        `\(invoked) llama-2-7b-production pods OOM after upgrade`, `\(invoked) llama-2-7b-production -- -n was the wrong namespace`
        """
    }

    static func parseRollback(_ text: String, invoked: String, command: String) -> Result<ParsedCommand, CommandError> {
        let usage = rollbackUsage(invoked)
        var words = CommandWord.split(text)
        guard let first = words.first else {
            return .failure(CommandError("`\(invoked)` needs a release name. Usage: `\(usage)`. Example: `\(invoked) llama-2-7b-production`"))
        }
        if !first.isLiteral, ["help", "--help", "-h"].contains(first.text.lowercased()) { return .success(.help(rollbackHelp(invoked))) }
        guard !first.isOption, Validation.isReleaseName(first.text) else {
            return .failure(
                CommandError(
                    "`\(first.text.prefix(80))` is not a valid release name: use lowercase letters, digits and '-' "
                        + "(at most 53 characters). Usage: `\(usage)`. Example: `\(invoked) llama-2-7b-production 3`"))
        }
        let release = first.text
        words.removeFirst()
        var revision: Int?
        if let word = words.first, !word.isLiteral, word.text.allSatisfy(\.isNumber) {
            guard let number = Int(word.text), number <= 1_000_000 else {
                return .failure(
                    CommandError("`\(word.text.prefix(20))` is not a usable revision number. Usage: `\(usage)`. Example: `\(invoked) \(release) 3`"))
            }
            // helm's own convention: 0 means "the previous one", which Coxswain decides safely.
            revision = number == 0 ? nil : number
            words.removeFirst()
        } else if let word = words.first, word.isOption, Int(word.text) != nil {
            return .failure(
                CommandError("`\(word.text)` is not a revision: revisions are positive numbers. Usage: `\(usage)`. Example: `\(invoked) \(release) 3`"))
        }
        var emergency = false
        if let word = words.first, word.isOption, ["--emergency", "--break-glass"].contains(word.text) {
            emergency = true
            words.removeFirst()
            guard words.reason != nil else {
                return .failure(
                    CommandError(
                        "A break-glass rollback needs a reason after `--emergency`; it goes to the audit channel. "
                            + "Example: `\(invoked) \(release) --emergency pods OOM, error rate 40%`"))
            }
        }
        if let option = words.first(where: \.isOption) {
            if ["--emergency", "--break-glass"].contains(option.text) {
                return .failure(
                    CommandError(
                        "`--emergency` comes right after the release (and revision), followed by the reason. "
                            + "Example: `\(invoked) \(release) --emergency pods OOM, error rate 40%`"))
            }
            return .failure(
                CommandError(
                    "`\(option.text.prefix(30))` is not an option of \(invoked); the only option is `--emergency REASON`. "
                        + "A reason that contains dashes goes after `--` or in quotes. Usage: `\(usage)`. Example: `\(invoked) \(release) -- "
                            + "\(option.text.prefix(30)) was wrong`"
                ))
        }
        return .success(.change(.rollback(release, revision: revision, reason: words.reason, emergency: emergency, command: command)))
    }

    static func upgradeUsage(_ invoked: String) -> String { "\(invoked) RELEASE VERSION [REASON…]" }

    static func upgradeHelp(_ invoked: String) -> String {
        """
        *\(upgradeUsage(invoked))*
        Upgrades a Helm release to a chart version (`helm upgrade … --reset-then-reuse-values --wait`), then validates pods, \
        /health and a completion. VERSION: `0.3.0` / `v0.3.0` (versioned, everywhere), `nightly-20260115` (not in production), \
        `latest` (development only). Production also needs the version validated in staging first; an approver may add \
        `--override-promotion` with a reason.
        Example: `\(invoked) semantic-router-production 0.3.0 fixes routing timeouts`
        """
    }

    static func parseUpgrade(_ text: String, invoked: String, command: String) -> Result<ParsedCommand, CommandError> {
        let usage = upgradeUsage(invoked)
        var words = CommandWord.split(text)
        if let first = words.first, !first.isLiteral, ["help", "--help", "-h"].contains(first.text.lowercased()) {
            return .success(.help(upgradeHelp(invoked)))
        }
        let override = words.contains { $0.isOption && $0.text == "--override-promotion" }
        words.removeAll { $0.isOption && $0.text == "--override-promotion" }
        if let option = words.first(where: \.isOption) {
            return .failure(
                CommandError(
                    "`\(option.text.prefix(30))` is not an option of \(invoked); the only option is `--override-promotion`. "
                        + "A reason that contains dashes goes after `--` or in quotes. Usage: `\(usage)`"))
        }
        guard words.count >= 2 else {
            return .failure(CommandError("`\(invoked)` needs a release and a version. Usage: `\(usage)`. Example: `\(invoked) llama-2-7b-staging 0.3.0`"))
        }
        guard Validation.isReleaseName(words[0].text) else {
            return .failure(CommandError("`\(words[0].text.prefix(60))` is not a valid release name (lowercase letters, digits, '-'). Usage: `\(usage)`"))
        }
        guard let version = UpgradeVersion(parsing: words[1].text) else {
            return .failure(
                CommandError(
                    "`\(words[1].text.prefix(60))` is not a version Coxswain accepts: use a versioned tag (`0.3.0` or `v0.3.0`), "
                        + "`nightly-YYYYMMDD`, `0.0.0-nightly.YYYYMMDD` or `latest`. Example: `\(invoked) \(words[0].text) 0.3.0`"))
        }
        let reason = Array(words.dropFirst(2)).reason
        if override && reason == nil {
            return .failure(
                CommandError(
                    "`--override-promotion` needs a reason; it goes to the audit trail. "
                        + "Example: `\(invoked) \(words[0].text) \(words[1].text) --override-promotion staging is down, hotfix verified locally`"))
        }
        return .success(
            .change(
                ChangeRequest(
                    kind: .upgrade, command: command, release: words[0].text, version: version, reason: reason,
                    overridePromotion: override)))
    }
}
