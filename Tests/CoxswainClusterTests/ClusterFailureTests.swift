import CoxswainCluster
import CoxswainCore
import Foundation
import Testing

/// The message is the error: what helm and kubectl print before their error (warnings, klog
/// lines) is not it. Texts as the real programs print them.
@Suite struct ClusterFailureTests {
    static func output(_ argv: [String], stderr: String, stdout: String = "") -> ProcessOutput {
        ProcessOutput(argv: argv, exitCode: 1, stdout: stdout, stderr: stderr, durationMilliseconds: 5, timedOut: false)
    }

    @Test("helm 3: kubeconfig warnings first, then the cluster is unreachable")
    func helmWarningsThenUnreachable() {
        let failure = ClusterFailure.classify(
            Self.output(
                ["helm", "rollback", "r", "3", "-n", "production"],
                stderr: """
                    WARNING: Kubernetes configuration file is group-readable. This is insecure. Location: /root/.kube/config
                    WARNING: Kubernetes configuration file is world-readable. This is insecure. Location: /root/.kube/config
                    Error: Kubernetes cluster unreachable: Get "http://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused
                    """))
        #expect(failure.kind == .clusterUnreachable)
        #expect(failure.message.hasPrefix("Error: Kubernetes cluster unreachable"))
        #expect(failure.accessHint(context: "prod")?.plainText.contains("kubectl cluster-info --context prod") == true)
    }

    @Test("helm 4: a deprecation warning first, then helm's error")
    func helm4Warning() {
        let failure = ClusterFailure.classify(
            Self.output(
                ["helm", "history", "r"],
                stderr: """
                    time=2026-11-23T12:00:00.000Z level=WARN msg="--wait=false is deprecated (boolean value) and can be replaced with --wait=hookOnly"
                    Error: release: not found
                    """))
        #expect(failure.kind == .releaseNotFound)
        #expect(failure.message == "Error: release: not found")
    }

    @Test("kubectl 1.35: klog lines first, then its own message")
    func kubectlKlog() {
        let line =
            #"E1123 12:00:00.123456   4242 memcache.go:265] "Unhandled Error" err="couldn't get current server API group list: "#
            + #"Get \"http://127.0.0.1:1/api?timeout=32s\": dial tcp 127.0.0.1:1: connect: connection refused""#
        let failure = ClusterFailure.classify(
            Self.output(
                ["kubectl", "get", "pods"],
                stderr: Array(repeating: line, count: 5).joined(separator: "\n")
                    + "\nThe connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"))
        #expect(failure.kind == .clusterUnreachable)
        #expect(failure.message == "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?")
    }

    @Test("RBAC: which verb on which resource in which namespace, and the command to check it")
    func forbidden() {
        let failure = ClusterFailure.classify(
            Self.output(
                ["kubectl", "annotate"],
                stderr: """
                    Error from server (Forbidden): deployments.apps "llama" is forbidden: User "system:serviceaccount:coxswain:coxswain" \
                    cannot patch resource "deployments" in API group "apps" in the namespace "production"
                    """))
        #expect(failure.kind == .forbidden(verb: "patch", resource: "deployments", namespace: "production"))
        #expect(failure.accessHint(context: nil)?.plainText.contains("kubectl auth can-i patch deployments -n production") == true)
    }

    @Test("expired credentials and an unreachable address")
    func unauthorizedAndTimeout() {
        #expect(
            ClusterFailure.classify(Self.output(["kubectl", "get", "pods"], stderr: "error: You must be logged in to the server (Unauthorized)")).kind
                == .unauthorized)
        let timeout = ClusterFailure.classify(
            Self.output(
                ["helm", "history", "r"],
                stderr: #"Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:443/version": dial tcp 10.0.0.1:443: i/o timeout"#))
        #expect(timeout.kind == .clusterUnreachable)
        // helm's own --wait running out is a timeout, not an unreachable cluster.
        #expect(ClusterFailure.classify(Self.output(["helm", "rollback"], stderr: "Error: context deadline exceeded")).kind == .timedOut)
    }
}

@Suite struct CommandRunnerTests {
    @Test("helm and kubectl get an allow-listed environment: never the Slack secrets")
    func allowListedEnvironment() async throws {
        let parent = [
            "PATH": "/usr/bin:/bin", "HOME": "/root", "KUBECONFIG": "/k", "HELM_CACHE_HOME": "/c", "SLACK_BOT_TOKEN": "xoxb-secret",
            "SLACK_SIGNING_SECRET": "s3cr3t", "SLACK_BOT_TOKEN_FILE": "/run/secret", "AWS_PROFILE": "prod", "DATABASE_URL": "x",
            "HTTPS_PROXY": "http://proxy:3128", "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        ]
        let runner = CommandRunner(searchPath: "/usr/bin:/bin", environment: parent, passing: ["AWS_PROFILE"])
        let output = try await runner.run("env", [], timeout: .seconds(10))
        let names = Set(output.stdout.split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) })
        // In a pod, helm and kubectl find the API server through KUBERNETES_SERVICE_HOST/_PORT.
        #expect(names == ["PATH", "HOME", "KUBECONFIG", "HELM_CACHE_HOME", "AWS_PROFILE", "HTTPS_PROXY", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"])
        #expect(!output.stdout.contains("secret") && !output.stdout.contains("s3cr3t"))
    }

    @Test("very long output keeps its head and tail, and a command that ran is not reported as 'could not run'")
    func longOutput() async throws {
        let runner = CommandRunner(
            searchPath: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            environment: ProcessInfo.processInfo.environment, passing: ["PYENV_ROOT"])
        let output = try await runner.run("python3", ["-c", "print('first'); print('x' * 3000000); print('last')"], timeout: .seconds(30))
        #expect(output.succeeded)
        #expect(output.stdout.hasPrefix("first"))
        #expect(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("last"))
        #expect(output.stdout.utf8.count < 300 * 1024 && output.stdout.contains("bytes not kept"))
    }
}
