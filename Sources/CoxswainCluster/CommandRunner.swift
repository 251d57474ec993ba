import CoxswainCore
import Foundation

/// What a finished `helm` or `kubectl` call left behind.
public struct ProcessOutput: Sendable, Equatable {
    public var argv: [String]
    /// nil when the process was killed by a signal or by Coxswain's own time limit.
    public var exitCode: Int32?
    public var stdout: String
    public var stderr: String
    public var durationMilliseconds: Int
    public var timedOut: Bool

    public init(argv: [String], exitCode: Int32?, stdout: String, stderr: String, durationMilliseconds: Int, timedOut: Bool) {
        self.argv = argv; self.exitCode = exitCode; self.stdout = stdout; self.stderr = stderr
        self.durationMilliseconds = durationMilliseconds; self.timedOut = timedOut
    }

    public var succeeded: Bool { exitCode == 0 && !timedOut }
    /// What the program said went wrong: its error line, not the warnings before it.
    public var errorText: String {
        let lines = (stderr + "\n" + stdout).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return ClusterFailure.errorLine(lines) ?? ""
    }
    /// The command as a person would type it, for messages and the audit trail.
    public var commandLine: String { argv.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ") }
}

public struct ProgramNotFound: Error, CustomStringConvertible {
    public let program: String
    public let searched: [String]
    public var description: String {
        "`\(program)` was not found (searched \(searched.joined(separator: ":"))); install it or set cluster.\(program) to its path"
    }
}

/// Runs programs with argument arrays, never through a shell, with an environment that
/// holds only what helm and kubectl need: Coxswain's own secrets never reach them (nor
/// kubeconfig exec plugins or post-renderers they start).
public struct CommandRunner: Sendable, CustomStringConvertible {
    public let searchPath: [String]
    /// The child's environment, already allow-listed.
    let environment: [String: String]
    /// Output kept per stream: the first and the last half of this, with a marker between.
    static let keptBytes = 256 * 1024
    /// Hears every run that finished or was stopped (for metrics).
    let observe: @Sendable (ProcessOutput) -> Void
    /// How long a stopped program has between SIGTERM and SIGKILL.
    public var stopGrace: Duration = .seconds(5)

    /// - Parameters:
    ///   - environment: the server's environment; only allow-listed variables pass.
    ///   - passing: further variables the configuration names (`cluster.environment`).
    public init(
        searchPath: String, environment: [String: String], passing: [String] = [], observe: @escaping @Sendable (ProcessOutput) -> Void = { _ in }
    ) {
        self.observe = observe
        self.searchPath = searchPath.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        var child = Self.allowListed(environment, passing: passing)
        child["PATH"] = searchPath
        self.environment = child
    }

    public var description: String { "CommandRunner(PATH=\(searchPath.joined(separator: ":")))" }

    /// `PATH`, `HOME`, `KUBECONFIG`, `HELM_*`, `XDG_*`, locale, temp folder, TLS trust and
    /// proxy settings, the in-cluster API address (`KUBERNETES_SERVICE_HOST`/`_PORT`: without
    /// them helm and kubectl in a pod find no cluster), plus what the configuration names;
    /// never anything Slack.
    static func allowListed(_ environment: [String: String], passing: [String]) -> [String: String] {
        let exact: Set<String> = [
            "PATH", "HOME", "USER", "KUBECONFIG", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
            "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
            "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
        ]
        let passing = Set(passing)
        return environment.filter { key, _ in
            let secrets = SlackSecrets.variableNames + MattermostSecrets.variableNames
            guard !secrets.contains(where: { key == $0 || key == $0 + "_FILE" }) else { return false }
            return exact.contains(key) || passing.contains(key) || key.hasPrefix("HELM_") || key.hasPrefix("XDG_")
        }
    }

    public func resolve(_ program: String) throws -> String {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else { throw ProgramNotFound(program: program, searched: [program]) }
            return program
        }
        for directory in searchPath {
            let candidate = directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ProgramNotFound(program: program, searched: searchPath)
    }

    /// Runs `program arguments…` and collects its output, keeping the head and the tail of
    /// anything very long. After `timeout` the process group is terminated (SIGTERM, then
    /// SIGKILL after `stopGrace`) and the output says so; helm and kubectl get their own
    /// `--timeout` well inside it. Cancelling the caller stops the process the same way and
    /// throws `CancellationError` once it is gone. Inside a job, `CommandGate` is asked first.
    public func run(_ program: String, _ arguments: [String], timeout: Duration) async throws -> ProcessOutput {
        let path = try resolve(program)
        try await CommandGate.current?.permit([program] + arguments)
        let clock = ContinuousClock()
        let started = clock.now
        let child = try ChildProcess.start(path: path, argv: [path] + arguments, environment: environment, keptBytes: Self.keptBytes)
        let grace = stopGrace
        let interrupt = CommandInterrupt.current
        interrupt?.attach(child, grace: grace)
        defer { interrupt?.detach(child) }
        let deadline = Task {
            do { try await cancellableSleep(for: timeout) } catch { return }  // finished first
            child.stop(.timedOut, grace: grace)
        }
        let outcome = await withTaskCancellationHandler {
            await child.outcome()
        } onCancel: {
            child.stop(.cancelled, grace: grace)
        }
        deadline.cancel()
        let ms = (clock.now - started).milliseconds
        let argv = [program] + arguments
        let output: ProcessOutput
        switch child.stopReason {
        case .cancelled?: throw CancellationError()
        case .timedOut?:
            output = ProcessOutput(
                argv: argv, exitCode: nil, stdout: "", stderr: "coxswain: \(program) did not finish within \(timeout) and was stopped",
                durationMilliseconds: ms, timedOut: true)
        case nil, .interrupted?:
            output = ProcessOutput(
                argv: argv, exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr, durationMilliseconds: ms, timedOut: false)
        }
        observe(output)
        return output
    }
}

extension Duration {
    public var secondsDouble: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    public var milliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
}
