import CoxswainCore
import CoxswainSandbox
import CoxswainServer
import CoxswainStore
import Foundation
import Testing

/// The image users deploy, run: the one `deploy/container/build-image.sh` built from the
/// Dockerfile (CI names it in COXSWAIN_TEST_IMAGE and requires this suite). `buildah run`
/// starts its `coxswain serve` against a sandbox cluster, as the chart would run it (the
/// configuration and Slack's secrets as read-only files, a data volume, a writable /tmp),
/// and a production rollback is driven end to end by the image's own helm and kubectl.
@Suite("the container image, run", .serialized, .enabled(if: ContainerImage.name != nil))
struct ContainerImageRunTests {
    static let release = "llama-2-7b-production"

    @Test("the image runs as 10001, says its version, serves /healthz and rolls back with its own helm and kubectl, writing only to its volumes")
    func rollbackThroughTheImage() async throws {
        let image = try #require(ContainerImage.name)
        let container = try await ContainerImage.buildah(["from", "--pull=never", image])
        defer { _ = try? ContainerImage.buildahNow(["rm", container]) }
        #expect(try await ContainerImage.buildah(["run", container, "--", "id", "-u"]) == "10001")
        #expect(try await ContainerImage.buildah(["run", container, "--", "coxswain", "--version"]) == CoxswainVersion.current)
        #expect(try await ContainerImage.buildah(["run", container, "--", "helm", "version", "--short"]).hasPrefix("v4.1.4"))

        let pair = try #require(RealTools.matrix.first { $0.name.hasPrefix("helm-4") })
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "production", versions: ["0.1.0", "0.2.0", "0.3.0"])
            let folders = try ContainerImage.folders(world: world)
            let server = try await ServerProcess.launch(
                URL(fileURLWithPath: "/usr/bin/buildah"),
                [
                    "run", "-e", "KUBECONFIG=/etc/coxswain/kubeconfig", "-e", "SLACK_SIGNING_SECRET_FILE=/etc/coxswain/signing-secret",
                    "-e", "SLACK_BOT_TOKEN_FILE=/etc/coxswain/bot-token", "-v", "\(folders.config.path):/etc/coxswain:ro",
                    "-v", "\(folders.data.path):/var/lib/coxswain", "-v", "\(folders.temporary.path):/tmp", container,
                    "--", "coxswain", "serve", "--config", "/etc/coxswain/coxswain.yaml",
                ], environment: ContainerImage.environment)
            defer {
                if server.isRunning { server.signal(SIGKILL) }
                // buildah kills what it started when it is stopped, but not when it is killed: the container's process too.
                ContainerImage.killContainerProcesses()
            }
            let health = try await server.get("/healthz")
            #expect(health.status == 200 && health.text == "ok")
            let ready = try await Eventually.value("/readyz") { () -> String? in
                let answer = try await server.get("/readyz")
                return answer.status == 200 ? answer.text : nil
            }
            #expect(ready == "ready")

            let answer = try await server.command("\(Self.release) pods crash after 0.3.0", fakePort: world.port)
            #expect(answer.status == 200, "\(answer.text)")
            let id = try Harness.jobID(in: answer.text)
            let database = folders.data.appendingPathComponent("coxswain.sqlite").path
            let job = try await Eventually.value("job #\(id) to finish", timeout: .seconds(120)) { () -> Job? in
                guard let job = try await AppDatabase.openReadOnly(path: database).job(id: id), job.state.isFinished else { return nil }
                return job
            }
            #expect(job.state == .succeeded, "\(job.outcome ?? "") \(server.output)")
            #expect(job.steps.map(\.action).contains("helm.rollback") && job.steps.allSatisfy { $0.status == .succeeded })
            let last = try #require(try await RealToolsRollbackTests.history(world).last)
            #expect(last["description"] as? String == "Rollback to 2" && last["status"] as? String == "deployed")
            #expect(server.output.contains("helm: version 4.1.4"), "the image's own helm: \(server.output)")

            // As Kubernetes stops a pod: SIGTERM to the container's process (buildah itself would only kill it).
            let pid = try await ContainerImage.process(commandLine: "coxswain serve --config /etc/coxswain/coxswain.yaml")
            kill(pid, SIGTERM)
            #expect(try await server.waitForExit(timeout: .seconds(60)) == 0, "\(server.output)")
            #expect(server.output.contains("coxswain stopped"), "\(server.output)")
        }
        // A read-only root filesystem would have refused any write outside the volumes: there was none.
        let written = try ContainerImage.writtenOutsideVolumes(container)
        #expect(written.isEmpty, "written to the image's root filesystem: \(written)")
    }
}

struct BuildahFailed: Error, CustomStringConvertible {
    let arguments: [String], output: String
    var description: String { "buildah \(arguments.joined(separator: " ")) failed: \(output)" }
}

/// The image under test and how it is reached.
enum ContainerImage {
    static let name = ProcessInfo.processInfo.environment["COXSWAIN_TEST_IMAGE"]
    /// buildah as root, without a container runtime of its own.
    static let environment: [String: String] = {
        var environment = ProcessInfo.processInfo.environment
        environment["BUILDAH_ISOLATION"] = environment["BUILDAH_ISOLATION"] ?? "chroot"
        return environment
    }()

    static func buildah(_ arguments: [String]) async throws -> String {
        let run = try await CLITests.run(at: URL(fileURLWithPath: "/usr/bin/buildah"), arguments, environment: environment)
        guard run.status == 0 else { throw BuildahFailed(arguments: arguments, output: run.err + run.out) }
        return run.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// For clean-up in a `defer`, where nothing can be awaited.
    static func buildahNow(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/buildah")
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    struct Folders {
        let config: URL, data: URL, temporary: URL
    }

    /// The configuration folder (as the chart's ConfigMap and Secret would mount it), the data
    /// volume (owned by the image's user, as the chart's fsGroup makes it) and /tmp.
    static func folders(world: SandboxWorld) throws -> Folders {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-image-\(UUID().uuidString)")
        let folders = Folders(
            config: root.appendingPathComponent("config"), data: root.appendingPathComponent("data"), temporary: root.appendingPathComponent("tmp"))
        for folder in [folders.config, folders.data, folders.temporary] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        _ = chown(folders.data.path, 10001, 10001)
        _ = chmod(folders.temporary.path, 0o1777)
        let sandbox = "http://127.0.0.1:\(world.port)"
        try """
            server: { host: 127.0.0.1, port: 0, operator_host: 127.0.0.1, operator_port: 0 }
            database: /var/lib/coxswain/coxswain.sqlite
            commands: /usr/share/coxswain/commands
            worker: { shutdown_grace: 30s }
            cluster: { read_timeout: 20s }
            slack: { api_url: "\(sandbox)/slack/api", audit_channel: C0AUDIT, response_url_hosts: [127.0.0.1] }
            environments:
              production: { namespace: production, approvals: 0 }
            releases:
              \(ContainerImageRunTests.release):
                model: llama-2-7b
                environment: production
                endpoint: \(sandbox)/models/production/\(ContainerImageRunTests.release)
                ready_endpoint: true
            roles:
              deployer: { grants: [rollback, cancel], environments: [production] }
            members: { U0123ALICE: [deployer] }
            """.write(to: folders.config.appendingPathComponent("coxswain.yaml"), atomically: true, encoding: .utf8)
        try Data(contentsOf: world.setup.kubeconfig).write(to: folders.config.appendingPathComponent("kubeconfig"))
        try Harness.signingSecret.write(to: folders.config.appendingPathComponent("signing-secret"), atomically: true, encoding: .utf8)
        try Harness.botToken.write(to: folders.config.appendingPathComponent("bot-token"), atomically: true, encoding: .utf8)
        // Readable by the image's user, as the chart's Secret and ConfigMap volumes are (mode 0440, group 10001).
        for file in try FileManager.default.contentsOfDirectory(atPath: folders.config.path) {
            let path = folders.config.appendingPathComponent(file).path
            _ = chown(path, 0, 10001)
            _ = chmod(path, 0o440)
        }
        return folders
    }

    /// The process whose command line contains `commandLine` (the container's, seen from the host).
    static func process(commandLine: String) async throws -> pid_t {
        try await Eventually.value("a process running \(commandLine)") { () -> pid_t? in
            for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
                // /proc's files say they are empty: read them to their end.
                guard let pid = pid_t(entry), let data = FileHandle(forReadingAtPath: "/proc/\(entry)/cmdline")?.readDataToEndOfFile() else { continue }
                let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                // buildah's own processes carry the same arguments; the container's runs the image's binary.
                let program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe")) ?? ""
                if line.contains(commandLine) && program.hasSuffix("/usr/local/bin/coxswain") { return pid }
            }
            return nil
        }
    }

    /// Kills any `coxswain serve` left running from the image (a test that failed half-way).
    static func killContainerProcesses() {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let program = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe") else { continue }
            if program.contains("/buildah") && program.hasSuffix("/usr/local/bin/coxswain") { kill(pid, SIGKILL) }
        }
    }

    /// Files the container wrote to its own root filesystem (its overlay's upper layer). Only
    /// files count: the directories there are the mount points buildah makes for the volumes
    /// (as a container runtime does), and /run is buildah's own.
    static func writtenOutsideVolumes(_ container: String) throws -> [String] {
        let merged = try buildahOutput(["mount", container])
        defer { _ = try? buildahNow(["umount", container]) }
        let upper = URL(fileURLWithPath: merged).deletingLastPathComponent().appendingPathComponent("diff")
        guard FileManager.default.fileExists(atPath: upper.path) else {
            Issue.record("the container's storage has no overlay upper layer at \(upper.path); cannot check its root filesystem")
            return []
        }
        let written = FileManager.default.enumerator(atPath: upper.path)?.compactMap { $0 as? String } ?? []
        return written.filter { entry in
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: upper.appendingPathComponent(entry).path, isDirectory: &isDirectory)
            return !isDirectory.boolValue && !entry.hasPrefix("run/")
        }.sorted()
    }

    private static func buildahOutput(_ arguments: [String]) throws -> String {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/buildah")
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
