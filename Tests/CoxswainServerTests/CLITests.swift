import CoxswainCore
import CoxswainServer
import CoxswainStore
import Foundation
import Synchronization
import Testing

/// The `coxswain` executable against a real database file, as an operator runs it.
@Suite("coxswain CLI", .serialized)
struct CLITests {
    /// `swift test` builds the executable next to the test bundle.
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("coxswain")
    }

    struct Run { var status: Int32; var out: String; var err: String }

    /// Runs the built CLI to its end, waiting on a thread of its own: blocking one of Swift's
    /// few concurrency threads would stall every other test running meanwhile.
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) async throws -> Run {
        try await run(at: binary, arguments, environment: environment, in: directory)
    }

    /// Runs any program so, e.g. `systemd-analyze`.
    static func run(at program: URL, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) async throws -> Run {
        let process = Process()
        process.executableURL = program
        if let directory { process.currentDirectoryURL = directory }
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return await withCheckedContinuation { continuation in
            // Threads of their own, not dispatch queues: on Linux Swift's concurrency threads come
            // from the same dispatch pool, and blocking it stalls every test.
            Thread {
                // Both pipes at once, so a full stderr cannot block the process writing it.
                let errData = Mutex(Data())
                let group = DispatchGroup()
                group.enter()
                Thread {
                    let data = err.fileHandleForReading.readDataToEndOfFile()
                    errData.withLock { $0 = data }
                    group.leave()
                }.start()
                let outData = out.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                continuation.resume(
                    returning: Run(
                        status: process.terminationStatus, out: String(decoding: outData, as: UTF8.self),
                        err: errData.withLock { String(decoding: $0, as: UTF8.self) }))
            }.start()
        }
    }

    /// A configuration in a folder of its own, naming `database` (a new one in that folder by default).
    static func config(database: String? = nil) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("coxswain.yaml")
        try """
        database: \(database ?? directory.path + "/coxswain.sqlite")
        commands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)
        environments: { production: { namespace: production, approvals: 0 } }
        releases:
          llama-2-7b-production: { model: llama-2-7b, environment: production, endpoint: "http://llama:8000" }
        """.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test("registry list/disable/enable, audit export, jobs list/show work on the server's database")
    func registryAuditJobs() async throws {
        let config = try Self.config()
        #expect(try await Self.run(["migrate", "--config", config]).status == 0)
        let list = try await Self.run(["registry", "list", "--config", config])
        #expect(list.status == 0)
        #expect(list.out.contains("llama-2-7b") && list.out.contains("ready") && list.out.contains("production"))

        let disable = try await Self.run(
            [
                "registry", "disable", "--model-name", "llama-2-7b", "--environment", "production",
                "--reason", "incident 42", "--config", config,
            ], environment: ["USER": "oncall"])
        #expect(disable.status == 0)
        #expect(disable.out == "llama-2-7b in production: disabled\n")
        #expect(try await Self.run(["registry", "list", "--environment", "production", "--config", config]).out.contains("disabled"))

        let unknown = try await Self.run(["registry", "enable", "--model-name", "llama-3", "--environment", "production", "--config", config])
        #expect(unknown.status != 0)
        #expect(unknown.err.contains("no model `llama-3` in environment `production`"))
        #expect(!unknown.err.contains("Usage:"))

        let export = try await Self.run(["audit", "export", "--format", "jsonl", "--config", config])
        let entries = export.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(entries.count == 1)
        #expect(entries.first?["actor"] as? String == "cli:oncall")
        #expect(entries.first?["detail"] as? String == "llama-2-7b in production: ready -> disabled (incident 42)")
        #expect(try await Self.run(["audit", "export", "--format", "csv", "--config", config]).err.contains("accepted: jsonl"))

        let jobs = try await Self.run(["jobs", "list", "--config", config])
        #expect(jobs.status == 0 && jobs.out.hasPrefix("ID"))
        #expect(try await Self.run(["jobs", "show", "abc", "--config", config]).err.contains("\"abc\" is not a job id"))
        #expect(try await Self.run(["jobs", "show", "7", "--config", config]).err.contains("no job #7"))
    }

    @Test("reading commands create nothing and write nothing; paths in the configuration are relative to its file")
    func readOnlyAndRelativePaths() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-rel-\(UUID().uuidString)")
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-cwd-\(UUID().uuidString)")
        for directory in [folder, elsewhere] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        let config = folder.appendingPathComponent("coxswain.yaml")
        try """
        database: state/coxswain.sqlite
        commands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)
        environments: { production: { namespace: production, approvals: 0 } }
        releases:
          llama-2-7b-production: { model: llama-2-7b, environment: production, endpoint: "http://llama:8000" }
        """.write(to: config, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("state"), withIntermediateDirectories: true)
        let database = folder.appendingPathComponent("state/coxswain.sqlite").path

        // Asked only to read, with no database yet: a clear error, and nothing created.
        for command in [["jobs", "list"], ["audit", "tail", "-n", "5"], ["registry", "list"], ["audit", "export", "--format", "jsonl"]] {
            let read = try await Self.run(command + ["--config", config.path], in: elsewhere)
            #expect(read.status != 0)
            #expect(read.err.contains(database) && read.err.contains("coxswain migrate"), "\(command): \(read.err)")
        }
        #expect(!FileManager.default.fileExists(atPath: database))
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)

        // Run from another folder, the database is where the configuration says, next to it.
        #expect(try await Self.run(["migrate", "--config", config.path], in: elsewhere).status == 0)
        #expect(FileManager.default.fileExists(atPath: database))
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        let tail = try await Self.run(["audit", "tail", "-n", "5", "--config", config.path], in: elsewhere)
        #expect(tail.status == 0, "\(tail.err)")
        #expect(try await Self.run(["jobs", "list", "--config", config.path], in: elsewhere).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before)
    }

    @Test("a job shows its steps and audit entries; break-glass jobs are listed until acknowledged")
    func jobShowAndUnacknowledged() async throws {
        let config = try Self.config()
        let configuration = try ConfigurationFiles.configuration(config)
        let database = try AppDatabase.open(path: configuration.databasePath)
        let request = JobRequest(
            kind: .rollback, command: "/rollback", release: "llama-2-7b-production", environment: "production",
            namespace: "production", model: "llama-2-7b", requestedBy: "U0123ALICE", channel: "C0OPS", platform: "slack",
            reason: "pods OOM", emergency: true)
        let id = try await database.accept(
            request, approvalsRequired: 0, requestKey: "k", references: [], now: Date(), join: nil,
            created: { job, _ in JobChange(job: job, audit: [AuditDraft(actor: "U0123ALICE", event: "job.requested", detail: "x")]) },
            joined: { JobChange(job: $0) }
        ).job.id
        let show = try await Self.run(["jobs", "show", "#\(id)", "--config", config])
        #expect(show.out.contains("Job #\(id): /rollback llama-2-7b-production (production, ns production)"))
        #expect(show.out.contains("break-glass: NOT acknowledged"))
        #expect(show.out.contains("job.requested"))
        #expect(try await Self.run(["jobs", "list", "--unacknowledged", "--config", config]).out.contains("llama-2-7b-production"))
    }

    @Test("serve refuses to start without secrets and says which one; manifest needs a URL or Socket Mode")
    func startUpErrors() async throws {
        let config = try Self.config()
        let serve = try await Self.run(["serve", "--config", config], environment: ["SLACK_SIGNING_SECRET": "", "SLACK_BOT_TOKEN": ""])
        #expect(serve.status != 0)
        #expect(serve.err.contains("SLACK_SIGNING_SECRET is not set"))
        // Socket Mode needs the app-level token instead, and says where to get it.
        try (try String(contentsOfFile: config, encoding: .utf8) + "\nslack: { mode: socket }\n").write(toFile: config, atomically: true, encoding: .utf8)
        let socket = try await Self.run(
            ["serve", "--config", config], environment: ["SLACK_SIGNING_SECRET": "", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": ""])
        #expect(socket.status != 0)
        #expect(socket.err.contains("SLACK_APP_TOKEN is not set") && socket.err.contains("App-Level Tokens"), "\(socket.err)")
        let socketManifest = try await Self.run(["manifest", "--config", config])
        #expect(socketManifest.out.contains("socket_mode_enabled: true") && !socketManifest.out.contains("request_url"))
        let noURL = try await Self.run(["manifest", "--commands", Harness.repositoryRoot.appendingPathComponent("commands").path])
        #expect(noURL.err.contains("--url https://coxswain.example.com (request URLs), or --socket-mode"), "\(noURL.err)")
        let missing = try await Self.run(["serve", "--config", "/nonexistent.yaml"])
        #expect(missing.err.contains("/nonexistent.yaml: (file): cannot be read"))
        let manifest = try await Self.run(["manifest", "--url", "not a url", "--commands", Harness.repositoryRoot.appendingPathComponent("commands").path])
        #expect(manifest.err.contains("--url must be the server's public base URL"))
    }

    @Test("with mattermost: configured, serve names the missing Mattermost token; manifest --mattermost lists the commands to create")
    func mattermostStartUp() async throws {
        let config = try Self.config()
        let mattermost = "\nmattermost: { url: \"https://mattermost.example.com\", public_url: \"https://coxswain.example.com/\" }\n"
        try (try String(contentsOfFile: config, encoding: .utf8) + mattermost).write(toFile: config, atomically: true, encoding: .utf8)
        let serve = try await Self.run(
            ["serve", "--config", config], environment: ["SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "MATTERMOST_BOT_TOKEN": "b"])
        #expect(serve.status != 0 && serve.err.contains("MATTERMOST_COMMAND_TOKENS is not set"), "\(serve.err)")
        let list = try await Self.run(["manifest", "--mattermost", "--config", config])
        #expect(list.status == 0, "\(list.err)")
        #expect(list.out.contains("- trigger_word: rollback\n") && list.out.contains("- trigger_word: resume-sync\n"), "\(list.out)")
        #expect(list.out.contains("request_url: https://coxswain.example.com/mattermost/commands\n"))
        let noURL = try await Self.run(["manifest", "--mattermost", "--commands", Harness.repositoryRoot.appendingPathComponent("commands").path])
        #expect(noURL.status != 0 && noURL.err.contains("say where Mattermost reaches Coxswain"), "\(noURL.err)")
    }
}

