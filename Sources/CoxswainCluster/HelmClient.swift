import Foundation
import CoxswainCore

/// The helm calls the runbooks make, with the exact flags the seed runbooks use.
public struct HelmClient: Sendable {
    let runner: CommandRunner
    let program: String
    let kubeContext: String?
    let readTimeout: GoDuration

    public init(runner: CommandRunner, program: String, kubeContext: String?, readTimeout: GoDuration) {
        self.runner = runner; self.program = program; self.kubeContext = kubeContext; self.readTimeout = readTimeout
    }

    private func withContext(_ arguments: [String]) -> [String] {
        kubeContext.map { arguments + ["--kube-context", $0] } ?? arguments
    }

    /// `helm version --short`
    public func version() async throws(ClusterFailure) -> HelmVersion {
        let output = try await ClusterCall.run(runner, program, ["version", "--short"], timeout: readTimeout.duration)
        guard let version = HelmVersion(parsing: output.stdout) else {
            throw ClusterFailure(kind: .unreadableOutput, output: output, message: "helm version --short printed \"\(output.stdout.prefix(80))\"")
        }
        return version
    }

    /// `helm list -n NS -o json`: proves the kubeconfig can read releases there.
    public func list(namespace: String) async throws(ClusterFailure) -> [String] {
        let output = try await call(["list", "-n", namespace, "-o", "json"], timeout: readTimeout.duration)
        let rows = (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [[String: Any]] ?? []
        return rows.compactMap { $0["name"] as? String }
    }

    /// `helm history REL -n NS -o json --max N`
    public func history(release: String, namespace: String, max: Int) async throws(ClusterFailure) -> ([HelmRevision], ProcessOutput) {
        let output = try await call(["history", release, "-n", namespace, "-o", "json", "--max", String(max)], timeout: readTimeout.duration)
        do {
            return (try JSONDecoder().decode([HelmRevision].self, from: Data(output.stdout.utf8)), output)
        } catch {
            throw ClusterFailure(
                kind: .unreadableOutput, output: output, message: "helm history printed something that is not its JSON: \(output.stdout.prefix(200))")
        }
    }

    /// `helm rollback REL REVISION -n NS --wait --timeout T`, or without `--wait` for the
    /// break-glass path, which then watches the pods itself. (helm 3 and 4 both return at
    /// once without `--wait`; helm 4 calls `--wait=false` deprecated.)
    public func rollback(release: String, revision: Int, namespace: String, wait: GoDuration?) async throws(ClusterFailure) -> ProcessOutput {
        guard let timeout = wait else {
            return try await call(["rollback", release, String(revision), "-n", namespace], timeout: readTimeout.duration + .seconds(60))
        }
        // Coxswain's own limit sits a minute past helm's so helm reports its own timeout.
        return try await call(
            ["rollback", release, String(revision), "-n", namespace, "--wait", "--timeout", timeout.description],
            timeout: timeout.duration + .seconds(60))
    }

    /// `helm show chart CHART [--version V]`: does that chart version exist?
    public func showChart(_ chart: String, version: String?, timeout: GoDuration) async throws(ClusterFailure) -> ProcessOutput {
        var arguments = ["show", "chart", chart]
        if let version { arguments += ["--version", version] }
        return try await call(arguments, timeout: timeout.duration)
    }

    /// `helm upgrade REL CHART --version V -n NS --reset-then-reuse-values --wait --timeout T [-f FILE…]`
    public func upgrade(
        release: String, chart: String, version: String?, namespace: String, valuesFiles: [String],
        timeout: GoDuration, wait: Bool = true
    ) async throws(ClusterFailure) -> ProcessOutput {
        var arguments = ["upgrade", release, chart]
        if let version { arguments += ["--version", version] }
        // Without --wait (a capacity-neutral rollout waits with kubectl), --timeout still bounds helm's hooks.
        arguments += ["-n", namespace, "--reset-then-reuse-values"] + (wait ? ["--wait"] : []) + ["--timeout", timeout.description]
        for file in valuesFiles { arguments += ["-f", file] }
        return try await call(arguments, timeout: timeout.duration + .seconds(60))
    }

    /// `helm status REL -n NS -o json`
    public func status(release: String, namespace: String) async throws(ClusterFailure) -> (HelmReleaseStatus, ProcessOutput) {
        let output = try await call(["status", release, "-n", namespace, "-o", "json"], timeout: readTimeout.duration)
        do {
            return (try JSONDecoder().decode(HelmReleaseStatus.self, from: Data(output.stdout.utf8)), output)
        } catch {
            throw ClusterFailure(
                kind: .unreadableOutput, output: output, message: "helm status printed something that is not its JSON: \(output.stdout.prefix(200))")
        }
    }

    /// `helm get metadata REL -n NS -o json`: the current revision's chart and app version.
    public func metadata(release: String, namespace: String) async throws(ClusterFailure) -> HelmReleaseMetadata {
        let output = try await call(["get", "metadata", release, "-n", namespace, "-o", "json"], timeout: readTimeout.duration)
        do {
            return try JSONDecoder().decode(HelmReleaseMetadata.self, from: Data(output.stdout.utf8))
        } catch {
            throw ClusterFailure(
                kind: .unreadableOutput, output: output, message: "helm get metadata printed something that is not its JSON: \(output.stdout.prefix(200))")
        }
    }

    private func call(_ arguments: [String], timeout: Duration) async throws(ClusterFailure) -> ProcessOutput {
        try await ClusterCall.run(runner, program, withContext(arguments), timeout: timeout)
    }
}

enum ClusterCall {
    /// Runs one call and turns anything but success into a classified `ClusterFailure`.
    static func run(_ runner: CommandRunner, _ program: String, _ arguments: [String], timeout: Duration) async throws(ClusterFailure) -> ProcessOutput {
        let output: ProcessOutput
        do {
            output = try await runner.run(program, arguments, timeout: timeout)
        } catch {
            throw ClusterFailure(kind: .notRunnable, output: nil, message: "could not run \(program): \(error)")
        }
        guard output.succeeded else { throw ClusterFailure.classify(output) }
        return output
    }
}
