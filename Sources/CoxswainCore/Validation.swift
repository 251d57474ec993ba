import Foundation

/// Checks for every value that ends up in a `helm` or `kubectl` argument.
///
/// Coxswain never runs a shell, but an argument that starts with `-` would still be read
/// as a flag, so names are held to the Kubernetes rules before they get near a process.
public enum Validation {
    /// A Kubernetes DNS-1123 label: lowercase letters, digits and `-`, starting and ending
    /// with a letter or digit. Helm release names are limited to 53 characters, namespaces
    /// to 63.
    public static func isDNSLabel(_ value: String, maxLength: Int = 63) -> Bool {
        guard !value.isEmpty, value.count <= maxLength else { return false }
        let bytes = Array(value.utf8)
        func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == 0x2D }
    }

    public static func isReleaseName(_ value: String) -> Bool { isDNSLabel(value, maxLength: 53) }
    public static func isNamespace(_ value: String) -> Bool { isDNSLabel(value, maxLength: 63) }

    /// A command prefix: up to 12 lowercase letters, digits or `-` (empty is no prefix).
    public static func isCommandPrefix(_ value: String) -> Bool {
        value.utf8.count <= 12 && value.utf8.allSatisfy { isLowerAlnum($0) || $0 == 0x2D }
    }

    /// A runbook's slash command: `/`, a lowercase letter or digit, then up to 30 of those, `_` or `-`.
    /// Checked by hand rather than with a Regex: start-up would otherwise map the regex engine (~2 MB resident).
    public static func isSlashCommand(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (2...32).contains(bytes.count), bytes[0] == 0x2F, isLowerAlnum(bytes[1]) else { return false }
        return bytes.dropFirst(2).allSatisfy { isLowerAlnum($0) || $0 == 0x2D || $0 == 0x5F }
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }

    /// Slack ids (users, channels) are upper-case letters and digits.
    public static func isSlackID(_ value: String) -> Bool {
        !value.isEmpty && value.count <= 32 && value.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// Mattermost's ids: 26 lowercase letters and digits (users, channels, posts).
    public static func isMattermostID(_ value: String) -> Bool {
        value.utf8.count == 26 && value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// A Mattermost user as configuration names one: `mattermost:` and the username (3 to 22
    /// lowercase letters, digits, `.`, `-`, `_`, starting with a letter), or the user's id.
    public static func isMattermostUser(_ value: String) -> Bool {
        guard value.hasPrefix("mattermost:") else { return false }
        let name = String(value.dropFirst("mattermost:".count))
        if isMattermostID(name) { return true }
        guard let first = name.utf8.first, first >= 0x61 && first <= 0x7A, (3...22).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x5F }
    }

    /// A Mattermost channel as configuration names one: `mattermost:` and the channel's id.
    public static func isMattermostChannel(_ value: String) -> Bool {
        value.hasPrefix("mattermost:") && isMattermostID(String(value.dropFirst("mattermost:".count)))
    }
}

/// A duration written the way Kubernetes people write it: `300s`, `10m`, `10m0s`, `1h30m`,
/// `250ms`, `3s`.
public struct GoDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: Int

    public init(milliseconds: Int) { self.milliseconds = milliseconds }
    /// Clamped to what an `Int` of milliseconds holds (a NaN is zero): a duration never traps.
    public init(seconds: Double) {
        let milliseconds = (seconds * 1000).rounded()
        self.milliseconds = milliseconds.isNaN ? 0 : milliseconds >= 9.2e18 ? Int.max : milliseconds <= -9.2e18 ? Int.min : Int(milliseconds)
    }

    /// The longest duration a setting may have: a hundred years (anything longer is a typo, not a timeout).
    public static let longest = GoDuration(milliseconds: 100 * 365 * 86_400_000)

    public init?(parsing text: String) {
        var total = 0.0
        var number = ""
        var index = text.startIndex
        guard !text.isEmpty else { return nil }
        while index < text.endIndex {
            let c = text[index]
            if c.isNumber || c == "." { number.append(c); index = text.index(after: index); continue }
            guard let value = Double(number) else { return nil }
            number = ""
            let rest = text[index...]
            let unit: Double
            if rest.hasPrefix("ms") {
                unit = 0.001; index = text.index(index, offsetBy: 2)
            } else if c == "h" {
                unit = 3600; index = text.index(after: index)
            } else if c == "m" {
                unit = 60; index = text.index(after: index)
            } else if c == "s" {
                unit = 1; index = text.index(after: index)
            } else {
                return nil
            }
            total += value * unit
        }
        guard number.isEmpty else { return nil }  // a bare number has no unit
        guard total * 1000 <= Double(Self.longest.milliseconds) else { return nil }
        self.init(seconds: total)
    }

    public static func < (a: GoDuration, b: GoDuration) -> Bool { a.milliseconds < b.milliseconds }

    public var seconds: Double { Double(milliseconds) / 1000 }
    public var duration: Duration { .milliseconds(milliseconds) }

    /// The form helm and kubectl print and accept: `10m0s`, `300s` becomes `5m0s`.
    public var description: String {
        if milliseconds % 1000 != 0 { return milliseconds < 1000 ? "\(milliseconds)ms" : String(format: "%.3gs", seconds) }
        let total = milliseconds / 1000
        let h = total / 3600, m = (total % 3600) / 60, s = total % 60
        if h > 0 { return "\(h)h\(m)m\(s)s" }
        if m > 0 { return "\(m)m\(s)s" }
        return "\(s)s"
    }

    /// Seconds as kubectl's `--timeout=300s` flag writes them.
    public var kubectlForm: String { milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms" }
}
