import CoxswainCore
import Foundation

/// A helm or kubectl call that did not do what was asked, classified from everything the
/// program printed. Warnings (`level=WARN`, `WARNING:`) and klog lines (`E1123 … memcache.go:265]`)
/// come before the real error, so the message is the program's own error line, not the
/// first line of stderr.
public struct ClusterFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// helm: `Error: release: not found`
        case releaseNotFound
        /// helm rollback: `Error: release has no 7 version`; kubectl: `unable to find specified revision`
        case revisionMissing
        /// helm: `another operation (install/upgrade/rollback) is in progress`
        case operationInProgress
        /// helm: `Error: UPGRADE FAILED: "REL" has no deployed releases`
        case noDeployedReleases
        /// helm show chart / upgrade: the chart or its version does not exist.
        case chartNotFound
        /// helm `--wait` ran out (`context deadline exceeded`), kubectl wait ran out, or
        /// Coxswain stopped the process.
        case timedOut
        /// The API server could not be reached: `Kubernetes cluster unreachable`, `connection
        /// refused`, `no such host`, `i/o timeout`.
        case clusterUnreachable
        /// The credentials were refused: `Unauthorized`, `You must be logged in`.
        case unauthorized
        /// RBAC refused the verb: `… is forbidden: User "…" cannot patch resource "deployments" …`
        case forbidden(verb: String?, resource: String?, namespace: String?)
        /// The program could not be started (not on PATH, not executable).
        case notRunnable
        /// The output was not the JSON the program prints.
        case unreadableOutput
        case other
    }

    public var kind: Kind
    public var output: ProcessOutput?
    public var message: String

    public init(kind: Kind, output: ProcessOutput?, message: String) { self.kind = kind; self.output = output; self.message = message }

    public var description: String { message }

    public static func classify(_ output: ProcessOutput) -> ClusterFailure {
        let lines = (output.stderr + "\n" + output.stdout).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let text = lines.joined(separator: "\n")
        let kind: Kind
        if output.timedOut {
            kind = .timedOut
        } else if let forbidden = Self.forbidden(in: text) {
            kind = forbidden
        } else if [
            "Kubernetes cluster unreachable", "connection refused", "Unable to connect to the server", "no such host",
            "i/o timeout", "was refused - did you specify the right host",
        ].contains(where: text.contains) {
            kind = .clusterUnreachable
        } else if text.contains("Unauthorized") || text.contains("You must be logged in to the server") {
            kind = .unauthorized
        } else if text.contains("context deadline exceeded") || text.contains("timed out waiting for the condition") {
            kind = .timedOut
        } else if text.contains("another operation (install/upgrade/rollback) is in progress") {
            kind = .operationInProgress
        } else if text.contains("has no deployed releases") {
            kind = .noDeployedReleases
        } else if text.contains("release: not found") || text.range(of: #"Error: release: .* not found"#, options: .regularExpression) != nil {
            kind = .releaseNotFound
        } else if text.range(of: #"release has no \d+ version"#, options: .regularExpression) != nil || text.contains("unable to find specified revision") {
            kind = .revisionMissing
        } else if ["show", "upgrade"].contains(output.argv.dropFirst().first ?? ""), text.contains("not found") || text.contains("can't get a valid version") {
            kind = .chartNotFound
        } else {
            kind = .other
        }
        return ClusterFailure(kind: kind, output: output, message: errorLine(lines) ?? "exit code \(output.exitCode.map(String.init) ?? "none")")
    }

    /// The line that says what went wrong: helm's `Error:`, kubectl's `error:` or
    /// `Error from server`, or the last line that is neither a warning nor a klog line.
    static func errorLine(_ lines: [String]) -> String? {
        if let index = lines.firstIndex(where: { $0.hasPrefix("Error:") || $0.hasPrefix("error:") || $0.hasPrefix("Error from server") }) {
            // helm 4 continues an error on the next lines ("…not ready. status: InProgress" then
            // "context deadline exceeded"); they belong to it.
            let continuation = lines[(index + 1)...].prefix { !isNoise($0) && !$0.hasPrefix("Error") && !$0.hasPrefix("error:") }
            return ([lines[index]] + continuation.prefix(3)).joined(separator: "; ")
        }
        if let line = lines.last(where: { $0.hasPrefix("The connection to the server") || $0.hasPrefix("Unable to connect to the server") }) {
            return line
        }
        return lines.last { !isNoise($0) } ?? lines.last
    }

    /// helm's warnings (`WARNING: Kubernetes configuration file is group-readable`, helm 4's
    /// `level=WARN msg=…`) and klog lines (`E1123 12:00:00.000000   123 memcache.go:265] …`).
    static func isNoise(_ line: String) -> Bool {
        if line.hasPrefix("WARNING:") || line.contains("level=WARN") || line.contains("level=INFO") || line.contains("level=DEBUG") { return true }
        return line.wholeMatch(of: /[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ \S+:\d+\] .*/) != nil
    }

    static func forbidden(in text: String) -> Kind? {
        guard text.contains("forbidden") else { return nil }
        let match = text.firstMatch(of: /cannot (\S+) resource "([^"]+)"(?: in API group "[^"]*")?(?: in the namespace "([^"]+)")?/)
        return .forbidden(verb: match.map { String($0.1) }, resource: match.map { String($0.2) }, namespace: match.flatMap { $0.3.map(String.init) })
    }

    /// What to check, for the kinds that are about reaching the cluster at all.
    public func accessHint(context: String?) -> RichText? {
        switch kind {
        case .clusterUnreachable: return Troubleshooting.clusterUnreachable(context: context)
        case .unauthorized: return Troubleshooting.unauthorized(context: context)
        case .forbidden(let verb, let resource, let namespace): return Troubleshooting.forbidden(verb: verb, resource: resource, namespace: namespace)
        default: return nil
        }
    }
}
