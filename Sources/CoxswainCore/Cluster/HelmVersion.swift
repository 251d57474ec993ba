import Foundation

/// What `helm version --short` prints: `v3.14.4+g81c902a`.
public struct HelmVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    /// `--reset-then-reuse-values`, which upgrades use, arrived in helm 3.14.
    public static let minimumForUpgrade = HelmVersion(major: 3, minor: 14, patch: 0)

    public init(major: Int, minor: Int, patch: Int) { self.major = major; self.minor = minor; self.patch = patch }

    public init?(parsing text: String) {
        var core = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if core.hasPrefix("v") { core.removeFirst() }
        core = String(core.prefix { $0.isNumber || $0 == "." })
        let parts = core.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        self.init(major: parts[0], minor: parts[1], patch: parts[2])
    }

    public static func < (a: HelmVersion, b: HelmVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}
