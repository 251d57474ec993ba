import Foundation

/// A helm or kubectl call that did not do what was asked, classified from the real texts
/// those programs print (helm: `Error: …` on stderr, exit 1; kubectl: `error: …`, exit 1).
public struct ClusterFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// helm: `Error: release: not found`
        case releaseNotFound
        /// helm rollback: `Error: release has no 7 version`
        case revisionMissing
        /// helm: `Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress`
        case operationInProgress
        /// helm: `Error: UPGRADE FAILED: "REL" has no deployed releases`
        case noDeployedReleases
        /// helm show chart / upgrade: the chart or its version does not exist.
        case chartNotFound
        /// helm `--wait` ran out (`context deadline exceeded`, `timed out waiting for the
        /// condition`), kubectl wait ran out, or Coxswain stopped the process.
        case timedOut
        /// The program could not be started (not on PATH, not executable).
        case notRunnable
        /// The output was not the JSON the program prints.
        case unreadableOutput
        case other
    }

    public var kind: Kind
    public var output: ProcessOutput?
    public var message: String

    public var description: String { message }

    public static func classify(_ output: ProcessOutput) -> ClusterFailure {
        let text = output.errorText
        let kind: Kind
        if output.timedOut || text.contains("context deadline exceeded") || text.contains("timed out waiting for the condition") {
            kind = .timedOut
        } else if text.contains("another operation (install/upgrade/rollback) is in progress") {
            kind = .operationInProgress
        } else if text.contains("has no deployed releases") {
            kind = .noDeployedReleases
        } else if text.contains("release: not found") || (text.hasPrefix("Error: release:") && text.hasSuffix("not found")) {
            kind = .releaseNotFound
        } else if text.range(of: #"release has no \d+ version"#, options: .regularExpression) != nil
                    || text.contains("unable to find specified revision") {
            kind = .revisionMissing
        } else if output.argv.dropFirst().first == "show" || output.argv.dropFirst().first == "upgrade",
                  text.contains("not found") || text.contains("can't get a valid version") {
            kind = .chartNotFound
        } else {
            kind = .other
        }
        let firstLine = text.split(separator: "\n").first.map(String.init) ?? "exit code \(output.exitCode.map(String.init) ?? "none")"
        return ClusterFailure(kind: kind, output: output, message: firstLine)
    }
}
