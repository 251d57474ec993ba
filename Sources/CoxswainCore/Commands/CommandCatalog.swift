import Foundation

/// A command as Slack's manifest declares it.
public struct CommandDescription: Sendable, Equatable {
    public var command: String
    public var description: String
    public var usageHint: String
    public init(command: String, description: String, usageHint: String) {
        self.command = command; self.description = description; self.usageHint = usageHint
    }
}

/// Every command Coxswain answers and how people write it. The change commands come from
/// the runbooks (`commands/*.yaml`, each names its `command:`); the job and question commands
/// are built in. Each also works under one umbrella (`/coxswain rollback …`), and a prefix
/// renames them all (`command_prefix: cx-` → `/cx-rollback`, `/cx-coxswain`), because Slack
/// commands share one namespace per workspace.
public struct CommandCatalog: Sendable {
    /// How a front end writes commands: Slack with a slash and the prefix, the console bare.
    public enum Style: Sendable { case slash, console }

    public static let umbrella = "coxswain"
    static let builtIns: [(name: String, description: String, hint: String)] = [
        ("approve", "Approve a job waiting for approval", "JOB"),
        ("deny", "Deny a job waiting for approval", "JOB [REASON…]"),
        ("confirm", "Confirm a job's new plan after its release changed", "JOB"),
        ("cancel", "Cancel a job before it starts or between steps", "JOB"),
        ("ack", "Acknowledge a break-glass rollback", "JOB"),
        ("history", "Helm history of a release, with the Coxswain job behind each revision", "RELEASE [--public]"),
        ("status", "Helm status, pods, registry, health and open jobs of a release", "RELEASE [--public]"),
        ("releases", "The releases Coxswain knows, with status and version", "[ENVIRONMENT] [--public]"),
        ("jobs", "Recent Coxswain jobs", "[RELEASE] [--public]"),
        ("watch", "Watch a release on Prometheus: error rate, P95 latency, outage", "RELEASE [DURATION]"),
        ("resume-sync", "Put back the Argo CD or Flux sync a change suspended, once the change is in Git", "RELEASE [--force]"),
    ]

    public let prefix: String
    public let runbooks: RunbookSet

    public init(prefix: String = "", runbooks: RunbookSet) {
        self.prefix = prefix
        self.runbooks = runbooks
    }

    /// The name a runbook answers to: its command without the slash (`rollback`).
    public static func name(of runbook: Runbook) -> String { String(runbook.command.drop { $0 == "/" }) }

    /// How `verb` is written: `/cx-approve` in Slack, `approve` in the console.
    public func written(_ verb: String, style: Style) -> String { style == .slash ? "/" + prefix + verb : verb }

    /// A slash command as Slack sent it, as a verb and its text; nil when it is not one of ours.
    public func resolveSlash(_ command: String, text: String) -> (verb: String, text: String, invoked: String)? {
        guard command.hasPrefix("/" + prefix) else { return nil }
        let name = String(command.dropFirst(1 + prefix.count))
        guard name == Self.umbrella else { return (name, text, command) }
        let words = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true).map(String.init)
        let verb = words.first?.lowercased() ?? "help"
        return (verb, words.count > 1 ? words[1] : "", "\(command) \(verb)")
    }

    /// Parses `verb` and its text. `invoked` is how the user wrote the command, for messages.
    public func parse(verb: String, text: String, invoked: String, style: Style) -> Result<ParsedCommand, CommandError> {
        // PostgreSQL's text cannot hold U+0000 (it would refuse the whole intake group), and
        // nothing a person types needs the other control characters but tab and line breaks.
        if let control = text.unicodeScalars.first(where: { $0.value < 0x20 && !["\t", "\n", "\r"].contains($0) }) {
            let code = String(control.value, radix: 16, uppercase: true)
            return .failure(
                CommandError(
                    "The command's text contains the control character U+\(String(repeating: "0", count: 4 - code.count))\(code), "
                        + "which Coxswain does not record. Type the command again without it, for example `\(invoked.prefix(40)) …`."))
        }
        if ["help", "", Self.umbrella].contains(verb) { return .success(.help(overview(style))) }
        if let runbook = runbooks.all.first(where: { Self.name(of: $0) == verb }) {
            switch runbook.kind {
            case .upgrade: return ChangeCommandParser.parseUpgrade(text, invoked: invoked, command: runbook.command)
            case .rollback, nil: return ChangeCommandParser.parseRollback(text, invoked: invoked, command: runbook.command)
            }
        }
        switch verb {
        case "approve", "deny", "confirm", "cancel", "ack": return JobCommandParser.parse(verb: verb, text: text, invoked: invoked)
        case "history", "status", "releases", "jobs": return QueryParser.parse(verb: verb, text: text, invoked: invoked)
        case "watch": return WatchCommandParser.parse(text: text, invoked: invoked)
        case "resume-sync": return ResumeSyncParser.parse(text: text, invoked: invoked)
        default:
            let known = verbs.map { written($0, style: style) }.joined(separator: ", ")
            let nearest = YAMLShape.nearest(to: verb, in: verbs).map { " Did you mean `\(written($0, style: style))`?" } ?? ""
            return .failure(
                CommandError(
                    "Coxswain does not know the command `\(invoked.prefix(40))`.\(nearest) Commands it knows: \(known). "
                        + "Try `\(written(Self.umbrella, style: style)) help`."))
        }
    }

    /// Every verb: the runbooks' commands, then the built-in ones.
    public var verbs: [String] {
        let fromRunbooks = runbooks.all.map(Self.name(of:)).sorted()
        return fromRunbooks + Self.builtIns.map(\.name).filter { !fromRunbooks.contains($0) }
    }

    /// What the Slack manifest declares: every command with the prefix, and the umbrella.
    public func descriptions() -> [CommandDescription] {
        let fromRunbooks = runbooks.all.sorted { $0.command < $1.command }.map {
            CommandDescription(command: written(Self.name(of: $0), style: .slash), description: $0.description, usageHint: $0.usage)
        }
        let names = Set(runbooks.all.map(Self.name(of:)))
        let builtIn = Self.builtIns.filter { !names.contains($0.name) }.map {
            CommandDescription(command: written($0.name, style: .slash), description: $0.description, usageHint: $0.hint)
        }
        let umbrella = CommandDescription(
            command: written(Self.umbrella, style: .slash), description: "Every Coxswain command under one name",
            usageHint: "COMMAND [ARGUMENTS…] (help lists them)")
        return fromRunbooks + builtIn + [umbrella]
    }

    /// `help`: every command with its usage and an example.
    public func overview(_ style: Style) -> String {
        func w(_ verb: String) -> String { written(verb, style: style) }
        var lines = ["*Coxswain commands*"]
        for runbook in runbooks.all.sorted(by: { $0.command < $1.command }) {
            let name = Self.name(of: runbook)
            switch runbook.kind {
            case .upgrade:
                lines.append("• `\(w(name)) RELEASE VERSION [REASON…]` — \(runbook.description). `\(w(name)) llama-2-7b-staging 0.3.0`")
            case .rollback, nil:
                lines.append("• `\(w(name)) RELEASE [REVISION] [REASON…]` — \(runbook.description). `\(w(name)) llama-2-7b-production 3 pods OOM`")
                lines.append(
                    "• `\(w(name)) RELEASE --emergency REASON` — break-glass for on-call, no approval. `\(w(name)) llama-2-7b-production --emergency "
                        + "error rate 40%`"
                )
            }
        }
        lines += [
            "• `\(w("approve")) JOB` · `\(w("deny")) JOB [REASON…]` — decide on a production change. `\(w("approve")) 12`",
            "• `\(w("confirm")) JOB` — run a job's new plan after its release changed. `\(w("confirm")) 12`",
            "• `\(w("cancel")) JOB` — before it starts, or between steps. `\(w("cancel")) 12`",
            "• `\(w("ack")) JOB` — acknowledge a break-glass rollback. `\(w("ack")) 12`",
            "• `\(w("history")) RELEASE` — Helm history with the Coxswain job behind each revision. `\(w("history")) llama-2-7b-production`",
            "• `\(w("status")) RELEASE` — helm status, pods, registry, health, open jobs. `\(w("status")) llama-2-7b-production`",
            "• `\(w("releases")) [ENVIRONMENT]` — the releases Coxswain knows. `\(w("releases")) production`",
            "• `\(w("jobs")) [RELEASE]` — recent jobs. `\(w("jobs")) llama-2-7b-production`",
            "• `\(w("watch")) RELEASE [DURATION]` — watch a release on Prometheus, verdict in the channel. `\(w("watch")) llama-2-7b-production 30m`",
            "• `\(w("resume-sync")) RELEASE` — GitOps sync back on after a change suspended it, once the change is in Git. "
                + "`\(w("resume-sync")) llama-2-7b-production`",
            "Read-only answers are only for you; add `--public` to post them in the channel.",
        ]
        if style == .slash {
            lines.append("Every command also works as `\(w(Self.umbrella)) COMMAND …`, e.g. `\(w(Self.umbrella)) status llama-2-7b-production`.")
        }
        return lines.joined(separator: "\n")
    }
}
