import Foundation

/// `approve JOB`, `deny JOB [REASON…]`, `confirm JOB`, `cancel JOB`, `ack JOB`: commands about
/// a job that already exists. JOB is its number, with or without `#`.
enum JobCommandParser {
    static func usage(_ verb: String, _ invoked: String) -> String { verb == "deny" ? "\(invoked) JOB [REASON…]" : "\(invoked) JOB" }

    static func parse(verb: String, text: String, invoked: String) -> Result<ParsedCommand, CommandError> {
        let words = CommandWord.split(text)
        let usage = usage(verb, invoked)
        guard let first = words.first else {
            return .failure(CommandError("`\(invoked)` needs a job number. Usage: `\(usage)`. Example: `\(invoked) 12`"))
        }
        if !first.isLiteral, ["help", "--help", "-h"].contains(first.text.lowercased()) {
            return .success(.help("*\(usage)* — the job number is in the job's message, e.g. `Job #12`."))
        }
        let digits = first.text.hasPrefix("#") ? String(first.text.dropFirst()) : first.text
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let id = Int64(digits), id > 0 else {
            return .failure(CommandError("`\(first.text.prefix(30))` is not a job number. Usage: `\(usage)`. Example: `\(invoked) 12`"))
        }
        let rest = Array(words.dropFirst())
        if verb == "deny" {
            if let option = rest.first(where: \.isOption) {
                return .failure(
                    CommandError(
                        "`\(option.text.prefix(30))` is not an option of \(invoked). A reason with dashes goes after `--`. "
                            + "Usage: `\(usage)`"))
            }
            return .success(.deny(jobID: id, reason: rest.reason))
        }
        guard rest.isEmpty else { return .failure(CommandError("`\(invoked)` takes only the job number. Example: `\(invoked) \(id)`")) }
        switch verb {
        case "approve": return .success(.approve(jobID: id))
        case "confirm": return .success(.confirm(jobID: id))
        case "cancel": return .success(.cancel(jobID: id))
        default: return .success(.acknowledge(jobID: id))
        }
    }
}

/// `history RELEASE`, `status RELEASE`, `releases [ENVIRONMENT]`, `jobs [RELEASE]`, each
/// with `--public` to answer in the channel.
enum QueryParser {
    static func usage(_ verb: String, _ invoked: String) -> String {
        switch verb {
        case "releases": return "\(invoked) [ENVIRONMENT] [--public]"
        case "jobs": return "\(invoked) [RELEASE] [--public]"
        default: return "\(invoked) RELEASE [--public]"
        }
    }

    static func parse(verb: String, text: String, invoked: String) -> Result<ParsedCommand, CommandError> {
        var words = CommandWord.split(text)
        let isPublic = words.contains { $0.isOption && $0.text == "--public" }
        words.removeAll { $0.isOption && $0.text == "--public" }
        let usage = usage(verb, invoked)
        if let first = words.first, !first.isLiteral, ["help", "--help", "-h"].contains(first.text.lowercased()) {
            return .success(.help("*\(usage)* — answered only to you unless `--public`."))
        }
        if let option = words.first(where: \.isOption) {
            return .failure(CommandError("`\(option.text.prefix(30))` is not an option of \(invoked); the only option is `--public`. Usage: `\(usage)`"))
        }
        let example = "\(invoked) \(verb == "releases" ? "production" : "llama-2-7b-production")"
        guard words.count <= 1 else { return .failure(CommandError("`\(invoked)` takes one name. Usage: `\(usage)`. Example: `\(example)`")) }
        let name = words.first?.text
        if let name, !Validation.isDNSLabel(name, maxLength: 63) {
            return .failure(CommandError("`\(name.prefix(60))` is not a valid name (lowercase letters, digits, '-'). Usage: `\(usage)`"))
        }
        switch verb {
        case "history", "status":
            guard let release = name else { return .failure(CommandError("`\(invoked)` needs a release. Usage: `\(usage)`. Example: `\(example)`")) }
            return .success(.query(verb == "history" ? .history(release: release) : .status(release: release), public: isPublic))
        case "releases": return .success(.query(.releases(environment: name), public: isPublic))
        default: return .success(.query(.jobs(release: name), public: isPublic))
        }
    }
}

/// `watch RELEASE [DURATION]`: the watch a change gets, on demand.
enum WatchCommandParser {
    static func parse(text: String, invoked: String) -> Result<ParsedCommand, CommandError> {
        let words = CommandWord.split(text)
        let usage = "\(invoked) RELEASE [DURATION]"
        let example = "\(invoked) llama-2-7b-production 30m"
        if let first = words.first, !first.isLiteral, ["help", "--help", "-h"].contains(first.text.lowercased()) {
            return .success(.help("*\(usage)* — watch a release on Prometheus (error rate, P95, outage) for DURATION (default: the environment's)."))
        }
        if let option = words.first(where: \.isOption) {
            return .failure(CommandError("`\(option.text.prefix(30))` is not an option of \(invoked). Usage: `\(usage)`. Example: `\(example)`"))
        }
        guard let release = words.first?.text, words.count <= 2 else {
            return .failure(CommandError("`\(invoked)` needs a release and at most a duration. Usage: `\(usage)`. Example: `\(example)`"))
        }
        guard Validation.isDNSLabel(release, maxLength: 63) else {
            return .failure(CommandError("`\(release.prefix(60))` is not a valid release name (lowercase letters, digits, '-'). Usage: `\(usage)`"))
        }
        guard words.count == 2 else { return .success(.watch(release: release, duration: nil)) }
        let text = words[1].text
        guard let duration = GoDuration(parsing: text), duration.milliseconds > 0, duration <= GoDuration(seconds: 86_400) else {
            return .failure(CommandError("`\(text.prefix(20))` is not a duration up to 24h, such as 30m or 1h30m. Example: `\(example)`"))
        }
        return .success(.watch(release: release, duration: duration))
    }
}

/// `resume-sync RELEASE [--force]`: Argo CD's or Flux's sync back on after a change that
/// suspended it (`gitops: suspend`), once the change is in Git.
enum ResumeSyncParser {
    static func parse(text: String, invoked: String) -> Result<ParsedCommand, CommandError> {
        let words = CommandWord.split(text)
        let usage = "\(invoked) RELEASE [--force]"
        let example = "\(invoked) llama-2-7b-production"
        if let first = words.first, !first.isLiteral, ["help", "--help", "-h"].contains(first.text.lowercased()) {
            return .success(
                .help(
                    "*\(usage)* — put back the GitOps sync a change suspended, once the change is in Git. Argo CD reporting OutOfSync "
                        + "(Git still differs, so sync would undo the change) refuses it unless `--force`."))
        }
        let force = words.contains { $0.isOption && $0.text == "--force" }
        if let option = words.first(where: { $0.isOption && $0.text != "--force" }) {
            return .failure(CommandError("`\(option.text.prefix(30))` is not an option of \(invoked); the only option is `--force`. Usage: `\(usage)`"))
        }
        let names = words.filter { !$0.isOption }
        guard let release = names.first?.text, names.count == 1 else {
            return .failure(CommandError("`\(invoked)` takes one release. Usage: `\(usage)`. Example: `\(example)`"))
        }
        guard Validation.isDNSLabel(release, maxLength: 63) else {
            return .failure(CommandError("`\(release.prefix(60))` is not a valid release name (lowercase letters, digits, '-'). Usage: `\(usage)`"))
        }
        return .success(.resumeSync(release: release, force: force))
    }
}
