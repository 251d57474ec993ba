import CoxswainChat
import CoxswainSandbox
import Foundation
import Synchronization
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `coxswain serve` as a real process, for what only a real process shows: signals, a kill
/// in the middle of something, two servers on one database.
final class ServerProcess: Sendable {
    private let process: Process
    private let lines = Mutex<[String]>([])
    private let partial = Mutex("")
    private let boundPort = Mutex(0)

    private init(process: Process) { self.process = process }

    var port: Int { boundPort.withLock { $0 } }

    /// Writes `yaml` (with the database and the runbooks) and starts the server with the
    /// stand-ins first on its PATH. Returns once it listens.
    static func start(
        yaml: String, database: String, cluster: StandInCluster, extraConfig: String = "",
        arguments: [String] = [], environment extra: [String: String] = [:]
    ) async throws -> ServerProcess {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("coxswain.yaml")
        try (yaml + "\ndatabase: \(database)\ncommands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)\n" + extraConfig)
            .write(to: config, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = cluster.directory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["SLACK_SIGNING_SECRET"] = Harness.signingSecret
        environment["SLACK_BOT_TOKEN"] = Harness.botToken
        environment.merge(extra) { $1 }
        return try await launch(CLITests.binary, ["serve", "--config", config.path] + arguments, environment: environment)
    }

    /// Starts `program` (which runs `coxswain serve`, itself or in a container) and returns once the server listens.
    static func launch(_ program: URL, _ arguments: [String], environment: [String: String]) async throws -> ServerProcess {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.environment = environment
        let server = ServerProcess(process: process)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [server] handle in
            // At end of file the source stays readable: stop it, or it fires without end.
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { server.take(data) }
        }
        try process.run()
        let line = try await Eventually.value("the server to listen", timeout: .seconds(30)) { () -> String? in
            if !process.isRunning { throw ProcessFailed(output: server.output) }
            return server.lines.withLock { $0 }.first { $0.contains("] listening on [") }
        }
        server.boundPort.withLock { $0 = Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0 }
        return server
    }

    private func take(_ data: Data) {
        let complete = partial.withLock { rest -> [String] in
            rest += String(decoding: data, as: UTF8.self)
            var parts = rest.components(separatedBy: "\n")
            rest = parts.removeLast()
            return parts
        }
        lines.withLock { $0 += complete }
    }

    struct ProcessFailed: Error, CustomStringConvertible {
        let output: String
        var description: String { "coxswain serve exited: \(output)" }
    }

    var output: String { lines.withLock { $0.joined(separator: "\n") } }
    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// Signals the server while it runs (never a pid reused after it ended).
    func signal(_ number: Int32) { if process.isRunning { kill(process.processIdentifier, number) } }

    /// Waits for the process to end and returns its exit status.
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        try await Eventually.until("coxswain serve to exit", timeout: timeout) { !process.isRunning }
        return process.terminationStatus
    }

    /// Sends a slash command signed as Slack signs it; returns the status and the answer's text.
    func command(
        _ text: String, command: String = "/rollback", user: String = "U0123ALICE", fakePort: Int,
        triggerID: String = UUID().uuidString
    ) async throws -> (status: Int, text: String) {
        let body = Harness.form(command: command, text: text, user: user, channel: "C0OPS", triggerID: triggerID, fakePort: fakePort)
        let timestamp = String(Int(Date().timeIntervalSince1970))
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/slack/commands")))
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.setValue(timestamp, forHTTPHeaderField: "X-Slack-Request-Timestamp")
        request.setValue(
            SlackRequestVerifier.signature(signingSecret: Harness.signingSecret, timestamp: timestamp, body: Data(body.utf8)),
            forHTTPHeaderField: "X-Slack-Signature")
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, Harness.unescape(object?["text"] as? String ?? String(decoding: data, as: UTF8.self)))
    }

    /// The same, sent and timed by curl, a process of its own: the time Slack would wait,
    /// whatever else the test process is busy with.
    func commandTimedByCurl(_ text: String, user: String = "U0123ALICE", fakePort: Int) async throws -> (status: Int, seconds: Double, text: String) {
        let body = Harness.form(command: "/rollback", text: text, user: user, channel: "C0OPS", triggerID: UUID().uuidString, fakePort: fakePort)
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = SlackRequestVerifier.signature(signingSecret: Harness.signingSecret, timestamp: timestamp, body: Data(body.utf8))
        let output = try await SandboxSetup.run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            [
                "-sS", "--max-time", "20", "-w", "\n%{http_code} %{time_total}", "-H", "Content-Type: application/x-www-form-urlencoded",
                "-H", "X-Slack-Request-Timestamp: \(timestamp)", "-H", "X-Slack-Signature: \(signature)", "--data-binary", body,
                "http://127.0.0.1:\(port)/slack/commands",
            ], environment: [:])
        var lines = output.components(separatedBy: "\n")
        let figures = lines.removeLast().split(separator: " ")
        let data = Data(lines.joined(separator: "\n").utf8)
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (
            Int(figures.first ?? "") ?? 0, Double(figures.last ?? "") ?? .infinity,
            Harness.unescape(object?["text"] as? String ?? String(decoding: data, as: UTF8.self))
        )
    }

    func get(_ path: String) async throws -> (status: Int, text: String) {
        let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
