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
