import Foundation

/// The seed's release channels: versioned tags (immutable, for production), nightly
/// builds (pre-release testing), `latest` (development only).
public enum ReleaseChannel: String, Sendable, CaseIterable, Codable {
    case versioned, nightly, latest

    /// The defaults: versioned everywhere, nightly outside production, latest only in development.
    public static func defaults(forEnvironment name: String) -> Set<ReleaseChannel> {
        switch name {
        case "production": return [.versioned]
        case "development": return [.versioned, .nightly, .latest]
        default: return [.versioned, .nightly]
        }
    }
}

/// A version asked for in `/upgrade`, with the channel it belongs to and the chart version
/// helm is given.
public struct UpgradeVersion: Sendable, Equatable, Codable {
    public var raw: String
    public var channel: ReleaseChannel
    /// What `--version` gets: `0.3.0` for `v0.3.0`, `0.0.0-nightly.20260115` for
    /// `nightly-20260115`; nil for `latest` (helm then takes the newest chart).
    public var chartVersion: String?

    public init?(parsing text: String) {
        raw = text
        if text == "latest" {
            channel = .latest; chartVersion = nil; return
        }
        if let match = text.wholeMatch(of: /nightly-(\d{8})/) {
            channel = .nightly; chartVersion = "0.0.0-nightly.\(match.1)"; return
        }
        if text.wholeMatch(of: /0\.0\.0-nightly\.\d{8}/) != nil {
            channel = .nightly; chartVersion = text; return
        }
        let plain = text.hasPrefix("v") ? String(text.dropFirst()) : text
        // A semantic version: MAJOR.MINOR.PATCH with an optional pre-release or build part.
        guard plain.wholeMatch(of: /\d{1,4}\.\d{1,4}\.\d{1,6}([-+][0-9A-Za-z.-]{1,40})?/) != nil else { return nil }
        channel = .versioned; chartVersion = plain
    }

    /// How the version is shown and compared against deployed charts.
    public var display: String { chartVersion ?? "latest" }
}

/// `/upgrade RELEASE VERSION [REASON…]`, with `--override-promotion` for an approver who
/// skips the promotion gate (the reason is then mandatory).
public struct UpgradeRequest: Sendable, Equatable, Codable {
    public var release: String
    public var version: UpgradeVersion
    public var reason: String?
    public var overridePromotion: Bool
}

enum UpgradeCommand {
    static let usage = "/upgrade RELEASE VERSION [REASON…]"
    static let help = """
        *\(usage)*
        Upgrades a Helm release to a chart version (`helm upgrade … --reset-then-reuse-values --wait`), then validates pods, \
        /health and a completion. VERSION: `0.3.0` / `v0.3.0` (versioned, everywhere), `nightly-20260115` (not in production), \
        `latest` (development only). Production also needs the version validated in staging first; an approver may add \
        `--override-promotion` with a reason.
        Example: `/upgrade semantic-router-production 0.3.0 fixes routing timeouts`
        """

    static func parse(_ text: String) -> Result<SlashCommand, CommandError> {
        var words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        if words.first.map({ ["help", "--help", "-h"].contains($0.lowercased()) }) == true { return .success(.help(help)) }
        let override = words.contains("--override-promotion")
        words.removeAll { $0 == "--override-promotion" }
        guard words.count >= 2 else {
            return .failure(CommandError("`/upgrade` needs a release and a version. Usage: `\(usage)`. Example: `/upgrade llama-2-7b-staging 0.3.0`"))
        }
        guard Validation.isReleaseName(words[0]) else {
            return .failure(CommandError("`\(words[0].prefix(60))` is not a valid release name (lowercase letters, digits, '-'). Usage: `\(usage)`"))
        }
        guard let version = UpgradeVersion(parsing: words[1]) else {
            return .failure(CommandError("`\(words[1].prefix(60))` is not a version Coxswain accepts: use a versioned tag (`0.3.0` or `v0.3.0`), `nightly-YYYYMMDD`, `0.0.0-nightly.YYYYMMDD` or `latest`. Example: `/upgrade \(words[0]) 0.3.0`"))
        }
        if let flag = words.dropFirst(2).first(where: { $0.hasPrefix("--") }) {
            return .failure(CommandError("`\(flag.prefix(30))` is not an option of /upgrade; the only option is `--override-promotion`. Usage: `\(usage)`"))
        }
        let reason = words.dropFirst(2).joined(separator: " ")
        if override && reason.isEmpty {
            return .failure(CommandError("`--override-promotion` needs a reason; it goes to the audit trail. Example: `/upgrade \(words[0]) \(words[1]) --override-promotion staging is down, hotfix verified locally`"))
        }
        return .success(.upgrade(UpgradeRequest(release: words[0], version: version, reason: reason.isEmpty ? nil : String(reason.prefix(500)),
                                                overridePromotion: override)))
    }
}
