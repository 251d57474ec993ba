import CoxswainSandbox
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The real helm and kubectl pairs the matrix runs with, unpacked by
/// `deploy/sandbox/install-tools.py` into `.tools/`. CI sets COXSWAIN_REQUIRE_REAL_TOOLS, so
/// missing tools fail there instead of skipping.
enum RealTools {
    struct Pair: Sendable, CustomTestStringConvertible {
        let name: String
        let tools: SandboxTools
        var testDescription: String { name }
    }

    static let folder = Harness.repositoryRoot.appendingPathComponent(".tools")
    static let required = ProcessInfo.processInfo.environment["COXSWAIN_REQUIRE_REAL_TOOLS"] != nil

    static var pairs: [Pair] {
        SandboxTools.pinnedPairs.compactMap { pair in
            SandboxTools.unpacked(in: folder.appendingPathComponent(pair.folder)).map { Pair(name: pair.folder, tools: $0) }
        }
    }

    /// Every pinned pair when CI requires them (a missing one then fails its test), else those present.
    static var matrix: [Pair] {
        required
            ? SandboxTools.pinnedPairs.map { pair in
                Pair(
                    name: pair.folder,
                    tools: SandboxTools.unpacked(in: folder.appendingPathComponent(pair.folder))
                        ?? SandboxTools(
                            helm: folder.appendingPathComponent(pair.folder + "/helm"), kubectl: folder.appendingPathComponent(pair.folder + "/kubectl")))
            }
            : pairs
    }
}

/// A sandbox cluster for one test: the API server in this process, a private helm home with
/// the chart repository, and whatever releases the test installs with the real helm.
struct SandboxWorld: Sendable {
    let setup: SandboxSetup
    let cluster: SandboxCluster
    let pair: RealTools.Pair

    var port: Int { setup.port }

    static let packagedCharts: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-charts-\(UUID().uuidString)")
        return folder
    }()

    /// Packages the chart versions once per test process (with the first pair's helm); tests
    /// that start meanwhile wait for that one packaging instead of starting their own.
    actor Packaging {
        private var task: Task<URL, Error>?
        func charts(helm: URL) async throws -> URL {
            let packaging =
                task
                ?? Task {
                    try await SandboxSetup.packageCharts(
                        chart: Harness.repositoryRoot.appendingPathComponent("deploy/sandbox/vllm-deployment"), into: packagedCharts, helm: helm)
                    return packagedCharts
                }
            task = packaging
            return try await packaging.value
        }
    }
    static let packaging = Packaging()

    /// How many sandbox worlds run at once. All of them starting together (two per test, one for
    /// each pinned pair, each starting helm and kubectl a dozen times) held the two cores for half a
    /// minute: the suite's timing tests and PostgreSQL's 15 s bound failed beside them.
    static let slots = WorldSlots(count: 4)

    static func run(
        _ pair: RealTools.Pair, timing: PodTiming = PodTiming(), nodes: [SandboxNode] = SandboxNode.roomy,
        _ body: @Sendable (SandboxWorld) async throws -> Void
    ) async throws {
        await slots.acquire()
        do {
            try await runInSlot(pair, timing: timing, nodes: nodes, body)
            await slots.release()
        } catch {
            await slots.release()
            throw error
        }
    }

    private static func runInSlot(
        _ pair: RealTools.Pair, timing: PodTiming, nodes: [SandboxNode], _ body: @Sendable (SandboxWorld) async throws -> Void
    ) async throws {
        guard SandboxTools.unpacked(in: pair.tools.helm.deletingLastPathComponent()) != nil else {
            Issue.record("\(pair.name) is not unpacked in .tools/: run python3 deploy/sandbox/install-tools.py .tools")
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-sandbox-\(UUID().uuidString)")
        let charts = folder.appendingPathComponent("charts")
        try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: try await Self.packaging.charts(helm: pair.tools.helm).path) {
            try FileManager.default.copyItem(at: packagedCharts.appendingPathComponent(file), to: charts.appendingPathComponent(file))
        }
        let cluster = SandboxCluster(timing: timing, namespaces: ["development", "staging", "production", "system", "argocd"], nodes: nodes)
        let server = SandboxServer(cluster: cluster, chartsDirectory: charts, kubernetesVersion: pair.name.hasSuffix("1.35.2") ? "v1.35.2" : "v1.32.3")
        var logger = Logger(label: "sandbox")
        logger.logLevel = .warning
        try await server.application(logger: logger).test(.live) { client in
            let setup = SandboxSetup(tools: pair.tools, folder: folder, port: try #require(client.port))
            try await setup.prepare()
            do {
                try await body(SandboxWorld(setup: setup, cluster: cluster, pair: pair))
            } catch {
                // What the cluster looked like, so that a wait that ran out can be told from a controller that stopped.
                Issue.record("the sandbox cluster when \(pair.name) failed:\n\(await cluster.summary())")
                await cluster.endWatches()
                throw error
            }
            await cluster.endWatches()
        }
    }

    /// Coxswain's configuration for this sandbox: three environments, the releases the test
    /// installed, the real helm and kubectl, and the Slack fake at `fakePort`.
    func configuration(
        fakePort: Int, approvals: Int = 0, plainDeployment: Bool = false, access: String = Harness.legacyUsers, whenShort: String? = nil,
        gitops: String? = nil
    ) -> String {
        let base = "http://127.0.0.1:\(port)/models"
        let capacity = (whenShort.map { ", capacity: { when_short: \($0) }" } ?? "") + (gitops.map { ", gitops: \($0)" } ?? "")
        return """
            server: { host: 127.0.0.1, port: 0, operator_port: 0 }
            worker: { shutdown_grace: 5s }
            cluster: { helm: \(setup.tools.helm.path), kubectl: \(setup.tools.kubectl.path), read_timeout: 20s }
            slack: { api_url: "http://127.0.0.1:\(fakePort)/api", audit_channel: C0AUDIT, response_url_hosts: [127.0.0.1] }
            environments:
              development: { namespace: development\(capacity) }
              staging: { namespace: staging\(capacity) }
              production: { namespace: production, approvals: \(approvals), approval_ttl: 30m\(capacity) }
            releases:
              llama-2-7b-production:
                model: llama-2-7b
                environment: production
                endpoint: \(base)/production/llama-2-7b-production
                ready_endpoint: true
                chart: \(SandboxSetup.chartReference)
              llama-2-7b-staging:
                model: llama-2-7b
                environment: staging
                endpoint: \(base)/staging/llama-2-7b-staging
                chart: \(SandboxSetup.chartReference)
              llama-2-7b-development:
                model: llama-2-7b
                environment: development
                endpoint: \(base)/development/llama-2-7b-development
                chart: \(SandboxSetup.chartReference)
            \(plainDeployment ? """
              semantic-router-dev:
                kind: deployment
                deployment: semantic-router
                model: semantic-router
                environment: development
                endpoint: \(base)/development/semantic-router-dev
            """ : "")
            \(access)
            """
    }

    /// The repository's runbooks with helm and pod timeouts (and the grace of an unschedulable
    /// pod) short enough for a test to watch them run out; the commands and everything else are unchanged.
    static func shortTimeoutRunbooks(_ timeout: String = "8s") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-runbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["rollback.yaml", "upgrade.yaml"] {
            let text = try String(contentsOf: Harness.repositoryRoot.appendingPathComponent("commands/\(name)"), encoding: .utf8)
                .replacingOccurrences(of: "timeout: 10m0s", with: "timeout: \(timeout)")
                .replacingOccurrences(of: "timeout: 10m", with: "timeout: \(timeout)")
                .replacingOccurrences(of: "timeout: 300s", with: "timeout: \(timeout)")
                .replacingOccurrences(of: "unschedulable_after: 2m", with: "unschedulable_after: 3s")
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return folder.path
    }

    /// Runs Coxswain against this sandbox.
    func coxswain(
        approvals: Int = 0, plainDeployment: Bool = false, access: String = Harness.legacyUsers, timeouts: String = "8s", whenShort: String? = nil,
        gitops: String? = nil, _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        let runbooks = try Self.shortTimeoutRunbooks(timeouts)
        try await Harness.run(
            runbooks: runbooks,
            configuration: { fakePort in
                configuration(
                    fakePort: fakePort, approvals: approvals, plainDeployment: plainDeployment, access: access, whenShort: whenShort, gitops: gitops)
            },
            processEnvironment: setup.environment, body)
    }
}

extension SandboxWorld {
    /// The plain Deployment `semantic-router` in `development` (release `semantic-router-dev`), one
    /// revision per image in turn, the last one rolled out.
    func plainDeployment(images: [String], limits: String = "{ nvidia.com/gpu: 1 }") async throws {
        let manifest = setup.folder.appendingPathComponent("semantic-router.yaml")
        try """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: semantic-router
          namespace: development
          labels: { app.kubernetes.io/instance: semantic-router-dev }
        spec:
          replicas: 1
          selector: { matchLabels: { app.kubernetes.io/instance: semantic-router-dev } }
          template:
            metadata: { labels: { app.kubernetes.io/instance: semantic-router-dev } }
            spec:
              containers:
                - name: router
                  image: \(images[0])
                  args: ["--model", "semantic-router"]
                  resources: { limits: \(limits) }
        """.write(to: manifest, atomically: true, encoding: .utf8)
        try await setup.kubectl(["create", "-f", manifest.path])
        for image in images.dropFirst() {
            try await setup.kubectl(["set", "image", "deployment/semantic-router", "router=\(image)", "-n", "development"])
        }
        try await setup.kubectl(["rollout", "status", "deployment/semantic-router", "-n", "development", "--timeout=30s"])
    }
}

/// A counting semaphore for tests that must not all run at once.
actor WorldSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        guard free == 0 else {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
