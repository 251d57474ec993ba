import Foundation
import Subprocess
import SystemPackage

/// What a finished `helm` or `kubectl` call left behind.
public struct ProcessOutput: Sendable, Equatable {
    public var argv: [String]
    /// nil when the process was killed by a signal or by Coxswain's own time limit.
    public var exitCode: Int32?
    public var stdout: String
    public var stderr: String
    public var durationMilliseconds: Int
    public var timedOut: Bool

    public var succeeded: Bool { exitCode == 0 && !timedOut }
    /// The command as a person would type it, for messages and the audit trail.
    public var commandLine: String { argv.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ") }
    /// The error text helm and kubectl print (`Error: …` / `error: …`), trimmed.
    public var errorText: String {
        let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? stdout.trimmingCharacters(in: .whitespacesAndNewlines) : text
    }
}

public struct ProgramNotFound: Error, CustomStringConvertible {
    public let program: String
    public let searched: [String]
    public var description: String {
        "`\(program)` was not found (searched \(searched.joined(separator: ":"))); install it or set cluster.\(program) to its path"
    }
}

/// Runs programs with argument arrays, never through a shell.
///
/// Names are resolved against `searchPath` (the server's `PATH` in production, with test
/// stand-ins first in tests), so what runs is what the configuration and PATH say.
public struct CommandRunner: Sendable {
    public let searchPath: [String]
    /// The child's environment: the server's, with `PATH` set to `searchPath`.
    let environment: [String: String]

    public init(searchPath: String, environment: [String: String]) {
        self.searchPath = searchPath.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        var environment = environment
        environment["PATH"] = searchPath
        self.environment = environment
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

    /// Runs `program arguments…` and collects its output. After `timeout` the process is
    /// terminated (SIGTERM, then SIGKILL) and the output says so; helm and kubectl get
    /// their own `--timeout` well inside it.
    public func run(_ program: String, _ arguments: [String], timeout: Duration) async throws -> ProcessOutput {
        let path = try resolve(program)
        let clock = ContinuousClock()
        let started = clock.now
        let environment = self.environment

        let outcome: ProcessOutcome = try await withThrowingTaskGroup(of: ProcessOutcome.self) { group in
            group.addTask {
                var options = PlatformOptions()
                options.teardownSequence = [.gracefulShutDown(allowedDurationToNextStep: .seconds(5))]
                let env = Environment.custom(Dictionary(uniqueKeysWithValues: environment.compactMap { key, value in
                    Environment.Key(rawValue: key).map { ($0, value) }
                }))
                let result = try await Subprocess.run(
                    .path(FilePath(path)), arguments: Arguments(arguments), environment: env,
                    platformOptions: options, output: .string(limit: 16 << 20), error: .string(limit: 4 << 20))
                var code: Int32?
                if case .exited(let c) = result.terminationStatus { code = c }
                return .finished(code, result.standardOutput ?? "", result.standardError ?? "")
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return .timedOut
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        let elapsed = clock.now - started
        let ms = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        let argv = [program] + arguments
        switch outcome {
        case .finished(let code, let out, let err):
            return ProcessOutput(argv: argv, exitCode: code, stdout: out, stderr: err, durationMilliseconds: ms, timedOut: false)
        case .timedOut:
            return ProcessOutput(argv: argv, exitCode: nil, stdout: "", stderr: "coxswain: \(program) did not finish within \(timeout) and was stopped",
                                 durationMilliseconds: ms, timedOut: true)
        }
    }

    private enum ProcessOutcome: Sendable {
        case finished(Int32?, String, String)
        case timedOut
    }
}
