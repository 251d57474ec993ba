import Foundation
import CoxswainCore

/// The kubectl calls the runbooks make.
public struct KubectlClient: Sendable {
    let runner: CommandRunner
    let program: String
    let kubeContext: String?
    let readTimeout: GoDuration

    public init(runner: CommandRunner, program: String, kubeContext: String?, readTimeout: GoDuration) {
        self.runner = runner; self.program = program; self.kubeContext = kubeContext; self.readTimeout = readTimeout
    }

    /// The label Helm charts put on everything a release owns.
    public static func instanceSelector(_ release: String) -> String { "app.kubernetes.io/instance=\(release)" }

    private func withContext(_ arguments: [String]) -> [String] {
        kubeContext.map { arguments + ["--context=\($0)"] } ?? arguments
    }

    /// `kubectl wait --for=condition=Ready pod -l app.kubernetes.io/instance=REL -n NS --timeout=300s`
    public func waitForReadyPods(release: String, namespace: String, timeout: GoDuration) async throws(ClusterFailure) -> ProcessOutput {
        try await ClusterCall.run(
            runner, program,
            withContext([
                "wait", "--for=condition=Ready", "pod", "-l", Self.instanceSelector(release), "-n", namespace, "--timeout=\(timeout.kubectlForm)",
            ]), timeout: timeout.duration + .seconds(30))
    }

    /// `kubectl annotate deployment -l app.kubernetes.io/instance=REL -n NS KEY=VALUE --overwrite`,
    /// so `kubectl describe` shows why the release was rolled back.
    public func annotateDeployments(release: String, namespace: String, key: String, value: String) async throws(ClusterFailure) -> ProcessOutput {
        try await ClusterCall.run(
            runner, program,
            withContext([
                "annotate", "deployment", "-l", Self.instanceSelector(release), "-n", namespace, "\(key)=\(value)", "--overwrite",
            ]), timeout: readTimeout.duration)
    }

    /// `kubectl rollout history deployment/NAME -n NS`: the revision numbers, oldest first,
    /// read from kubectl's table (`REVISION  CHANGE-CAUSE`).
    public func rolloutHistory(deployment: String, namespace: String) async throws(ClusterFailure) -> ([HelmRevision], ProcessOutput) {
        let output = try await ClusterCall.run(
            runner, program, withContext(["rollout", "history", "deployment/\(deployment)", "-n", namespace]),
            timeout: readTimeout.duration)
        var revisions: [HelmRevision] = []
        for line in output.stdout.split(separator: "\n") {
            let columns = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard let first = columns.first, let number = Int(first) else { continue }
            let cause = columns.count > 1 ? columns[1].trimmingCharacters(in: .whitespaces) : ""
            revisions.append(
                HelmRevision(
                    revision: number, status: "superseded", chart: "deployment/\(deployment)", appVersion: "",
                    description: cause == "<none>" ? "" : cause))
        }
        guard !revisions.isEmpty else {
            throw ClusterFailure(kind: .unreadableOutput, output: output, message: "kubectl rollout history printed no revisions")
        }
        // Kubernetes keeps no success flag per revision: the newest is the running one and
        // every earlier one once ran.
        revisions.sort { $0.revision < $1.revision }
        revisions[revisions.count - 1].status = "deployed"
        return (revisions, output)
    }

    /// `kubectl rollout undo deployment/NAME -n NS [--to-revision=N]`
    public func rolloutUndo(deployment: String, namespace: String, toRevision: Int?) async throws(ClusterFailure) -> ProcessOutput {
        var arguments = ["rollout", "undo", "deployment/\(deployment)", "-n", namespace]
        if let toRevision { arguments.append("--to-revision=\(toRevision)") }
        return try await ClusterCall.run(runner, program, withContext(arguments), timeout: readTimeout.duration)
    }

    /// `kubectl rollout status deployment/NAME -n NS --timeout=T`
    public func rolloutStatus(deployment: String, namespace: String, timeout: GoDuration) async throws(ClusterFailure) -> ProcessOutput {
        try await ClusterCall.run(
            runner, program,
            withContext([
                "rollout", "status", "deployment/\(deployment)", "-n", namespace, "--timeout=\(timeout.kubectlForm)",
            ]), timeout: timeout.duration + .seconds(30))
    }

    /// `kubectl logs POD -c CONTAINER -n NS --previous --tail=1`: a crashed container's last words.
    public func previousLogLine(pod: String, container: String?, namespace: String) async throws(ClusterFailure) -> String {
        var arguments = ["logs", pod, "-n", namespace, "--previous", "--tail=1"]
        if let container { arguments += ["-c", container] }
        let output = try await ClusterCall.run(runner, program, withContext(arguments), timeout: readTimeout.duration)
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `kubectl get pods -l app.kubernetes.io/instance=REL -n NS -o json`
    public func pods(release: String, namespace: String) async throws(ClusterFailure) -> (PodReport, ProcessOutput) {
        let output = try await ClusterCall.run(
            runner, program,
            withContext([
                "get", "pods", "-l", Self.instanceSelector(release), "-n", namespace, "-o", "json",
            ]), timeout: readTimeout.duration)
        do {
            return (try PodReport(kubectlJSON: Data(output.stdout.utf8)), output)
        } catch {
            throw ClusterFailure(
                kind: .unreadableOutput, output: output, message: "kubectl get pods printed something that is not its JSON: \(output.stdout.prefix(200))")
        }
    }

    /// `kubectl patch deployment NAME -n NS --type merge -p PATCH`
    public func patchDeployment(_ name: String, namespace: String, patch: String) async throws(ClusterFailure) -> ProcessOutput {
        try await self.patch("deployment", name: name, namespace: namespace, patch: patch)
    }

    /// `kubectl patch RESOURCE NAME -n NS --type merge -p PATCH`: a JSON merge patch (null removes a key).
    public func patch(_ resource: String, name: String, namespace: String, patch: String) async throws(ClusterFailure) -> ProcessOutput {
        try await ClusterCall.run(
            runner, program, withContext(["patch", resource, name, "-n", namespace, "--type", "merge", "-p", patch]), timeout: readTimeout.duration)
    }

    /// The release's Deployments:
    /// `kubectl get deployments (-l app.kubernetes.io/instance=REL | --field-selector metadata.name=NAME) -n NS -o json`
    public func deployments(release: String, deployment: String?, namespace: String) async throws(ClusterFailure) -> ProcessOutput {
        let which = deployment.map { ["--field-selector", "metadata.name=\($0)"] } ?? ["-l", Self.instanceSelector(release)]
        return try await ClusterCall.run(
            runner, program, withContext(["get", "deployments"] + which + ["-n", namespace, "-o", "json"]), timeout: readTimeout.duration)
    }

    /// `kubectl get RESOURCE NAME -n NS -o json`, for objects Coxswain only reads (an Argo CD Application).
    public func object(_ resource: String, name: String, namespace: String) async throws(ClusterFailure) -> ProcessOutput {
        try await ClusterCall.run(runner, program, withContext(["get", resource, name, "-n", namespace, "-o", "json"]), timeout: readTimeout.duration)
    }

    /// What the capacity check reads, three calls:
    /// `kubectl get deployments (-l app.kubernetes.io/instance=REL | --field-selector metadata.name=NAME) -n NS -o json`,
    /// `kubectl get nodes -o json`, and every pod on a node,
    /// `kubectl get pods -A --field-selector status.phase!=Succeeded,status.phase!=Failed -o json`.
    public func capacity(
        release: String, deployment: String?, namespace: String, resources: [String]
    ) async throws(ClusterFailure) -> (CapacityPreflight.Finding, [ProcessOutput]) {
        let calls = [
            ["get", "nodes", "-o", "json"], ["get", "pods", "-A", "--field-selector", "status.phase!=Succeeded,status.phase!=Failed", "-o", "json"],
        ]
        var outputs = [try await deployments(release: release, deployment: deployment, namespace: namespace)]
        for arguments in calls {
            outputs.append(try await ClusterCall.run(runner, program, withContext(arguments), timeout: readTimeout.duration))
        }
        do {
            let finding = try CapacityPreflight.judge(
                deployments: Data(outputs[0].stdout.utf8), nodes: Data(outputs[1].stdout.utf8), pods: Data(outputs[2].stdout.utf8), resources: resources)
            return (finding, outputs)
        } catch {
            throw ClusterFailure(kind: .unreadableOutput, output: outputs.last, message: error.description)
        }
    }
}
