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

    /// Processes whose command line is exactly `argv` (read from /proc: no procps needed).
    static func processes(running argv: [String]) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words == argv ? pid : nil
        }
    }

    static var shellRunner: CommandRunner {
        CommandRunner(searchPath: "/usr/bin:/bin", environment: ["PATH": "/usr/bin:/bin"])
    }

    @Test("exit codes, both streams, stdin at its end, and no descriptor of the server's reaches the child")
    func exitCodeAndStreams() async throws {
        // A descriptor the server holds without close-on-exec must not reach helm or kubectl.
        let held = open("/dev/null", O_RDONLY)
        defer { close(held) }
        let output = try await Self.shellRunner.run(
            "sh", ["-c", "echo out; echo err >&2; cat; ls /proc/self/fd | tr '\\n' ' ' >&2; exit 3"], timeout: .seconds(10))
        #expect(output.exitCode == 3 && !output.timedOut)
        #expect(output.stdout == "out\n")
        // 0, 1, 2 and the descriptor ls itself opens to read /proc/self/fd: nothing else.
        let descriptors = output.stderr.split(separator: "\n").last.map { $0.split(separator: " ").compactMap { Int($0) } } ?? []
        #expect(output.stderr.hasPrefix("err\n") && descriptors.count == 4 && descriptors.prefix(3) == [0, 1, 2], "\(output.stderr)")
    }

    @Test("the time limit stops the process group: SIGTERM first, SIGKILL for one that ignores it")
    func timeLimit() async throws {
        var runner = Self.shellRunner
        runner.stopGrace = .milliseconds(300)
        let clock = ContinuousClock()
        let started = clock.now
        // Ignores SIGTERM; its child (same group) would keep the pipes open for 61 s (a length no other test uses).
        let output = try await runner.run("sh", ["-c", "trap '' TERM; sleep 61 & echo started; wait"], timeout: .milliseconds(300))
        #expect(output.timedOut && output.exitCode == nil)
        #expect(output.stderr.contains("did not finish within"))
        #expect(clock.now - started < .seconds(20))
        // Nothing of the group is left behind.
        #expect(Self.processes(running: ["sleep", "61"]).isEmpty, "left running")
    }

    @Test("a program that exits while something it started holds its output: the result is not held up")
    func exitWhileDescendantHoldsOutput() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let output = try await Self.shellRunner.run("sh", ["-c", "sleep 31 & echo done"], timeout: .seconds(20))
        #expect(output.succeeded && output.stdout == "done\n")
        #expect(clock.now - started < .seconds(10))
        for pid in Self.processes(running: ["sleep", "31"]) { kill(pid, SIGKILL) }
    }

    @Test("cancelling the caller stops the program and throws once it is gone")
    func cancellation() async throws {
        let runner = Self.shellRunner
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString).pid").path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let script = "echo $$ > \(pidFile).tmp && mv \(pidFile).tmp \(pidFile) && exec sleep 60"
        let task = Task { try await runner.run("sh", ["-c", script], timeout: .seconds(120)) }
        // Started when it has written its pid (a condition, polled).
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: pidFile) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let pid = try #require(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the program is still there")
    }

    @Test("a program that cannot start is an error naming it")
    func cannotStart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("broken")
        try "#!/nonexistent/interpreter\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let error = await #expect(throws: (any Error).self) { try await Self.shellRunner.run(script.path, [], timeout: .seconds(10)) }
        #expect("\(error.map { "\($0)" } ?? "")".contains(script.path))
    }
}
