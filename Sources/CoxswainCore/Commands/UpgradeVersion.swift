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
        // Parsed by hand: a regex literal is compiled on every call, which cost a tenth of the
        // webhook's CPU (issue 13).
        if let date = text.dropPrefix("nightly-"), Self.isDigits(date, 8...8) {
            channel = .nightly; chartVersion = "0.0.0-nightly.\(date)"; return
        }
        if let date = text.dropPrefix("0.0.0-nightly."), Self.isDigits(date, 8...8) {
            channel = .nightly; chartVersion = text; return
        }
        let plain = text.hasPrefix("v") ? String(text.dropFirst()) : text
        guard Self.isSemanticVersion(plain) else { return nil }
        channel = .versioned; chartVersion = plain
    }

    /// MAJOR.MINOR.PATCH (1-4, 1-4 and 1-6 ASCII digits) with an optional pre-release or build
    /// part: `-` or `+` and 1-40 of `0-9A-Za-z.-`.
    static func isSemanticVersion(_ text: String) -> Bool {
        let separator = text.firstIndex { $0 == "-" || $0 == "+" }
        let core = text[..<(separator ?? text.endIndex)].split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3, isDigits(core[0], 1...4), isDigits(core[1], 1...4), isDigits(core[2], 1...6) else { return false }
        guard let separator else { return true }
        let suffix = text[text.index(after: separator)...]
        return (1...40).contains(suffix.count) && suffix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }

    static func isDigits(_ text: Substring, _ lengths: ClosedRange<Int>) -> Bool {
        lengths.contains(text.count) && text.allSatisfy { $0.isASCII && $0.isNumber }
    }
}

extension String {
    /// The rest of the string after `prefix`, if it starts with it.
    fileprivate func dropPrefix(_ prefix: String) -> Substring? {
        hasPrefix(prefix) ? self[index(startIndex, offsetBy: prefix.count)...] : nil
    }
}

extension UpgradeVersion {
    /// How the version is shown and compared against deployed charts.
    public var display: String { chartVersion ?? "latest" }
}
