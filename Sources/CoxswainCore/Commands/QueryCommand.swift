import Foundation

/// A read-only question: answered without approval, ephemeral unless `--public` is given.
public enum Query: Sendable, Equatable {
    /// `/history RELEASE`
    case history(release: String)
    /// `/status RELEASE`
    case status(release: String)
    /// `/releases [ENVIRONMENT]`
    case releases(environment: String?)
    /// `/jobs [RELEASE]`
    case jobs(release: String?)

    /// Whether answering it needs the cluster (so it is answered in the background).
    public var needsCluster: Bool {
        switch self {
        case .history, .status, .releases: return true
        case .jobs: return false
        }
    }
}

enum QueryCommand {
    static let usages = [
        "/history": "/history RELEASE [--public]",
        "/status": "/status RELEASE [--public]",
        "/releases": "/releases [ENVIRONMENT] [--public]",
        "/jobs": "/jobs [RELEASE] [--public]",
    ]

    static func parse(command: String, text: String) -> Result<SlashCommand, CommandError> {
        var words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        let isPublic = words.contains("--public")
        words.removeAll { $0 == "--public" }
        let usage = usages[command] ?? command
        if words.first.map({ ["help", "--help", "-h"].contains($0.lowercased()) }) == true {
            return .success(.help("*\(usage)* — answered only to you unless `--public`."))
        }
        guard words.count <= 1 else {
            return .failure(CommandError("`\(command)` takes one name. Usage: `\(usage)`. Example: `\(command) \(command == "/releases" ? "production" : "llama-2-7b-production")`"))
        }
        let name = words.first
        if let name, !Validation.isDNSLabel(name, maxLength: 63) {
            return .failure(CommandError("`\(name.prefix(60))` is not a valid name (lowercase letters, digits, '-'). Usage: `\(usage)`"))
        }
        switch command {
        case "/history", "/status":
            guard let release = name else {
                return .failure(CommandError("`\(command)` needs a release. Usage: `\(usage)`. Example: `\(command) llama-2-7b-production`"))
            }
            return .success(.query(command == "/history" ? .history(release: release) : .status(release: release), public: isPublic))
        case "/releases": return .success(.query(.releases(environment: name), public: isPublic))
        default: return .success(.query(.jobs(release: name), public: isPublic))
        }
    }
}
