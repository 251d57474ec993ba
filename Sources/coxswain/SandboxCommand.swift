import ArgumentParser
import CoxswainSandbox
import Foundation
import Hummingbird
import Logging

/// `coxswain sandbox`: Coxswain against a simulated cluster, with the real helm and kubectl.
struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try Coxswain in two minutes: a sandbox Kubernetes API, model releases installed with the real helm, and a console.",
        discussion: """
            With --cluster-only, runs only the sandbox Kubernetes API server (and its model endpoints) and prints a kubeconfig \
            for it. Example: coxswain sandbox --cluster-only --port 18555 --kubeconfig /tmp/sandbox.kubeconfig
            """)

    @Flag(help: "Run only the sandbox API server, until interrupted.") var clusterOnly = false
    @Option(help: "The port of the sandbox API server (0: any free port).") var port: Int = 0
    @Option(help: "Write a kubeconfig for the sandbox here.") var kubeconfig: String?
    @Option(help: "Namespaces that exist from the start.") var namespace: [String] = ["development", "staging", "production", "system"]
    @Option(help: "Serve a Helm chart repository from this folder at /charts/.") var charts: String?

    func run() async throws {
        var logger = Logger(label: "coxswain-sandbox")
        logger.logLevel = ProcessInfo.processInfo.environment["COXSWAIN_SANDBOX_TRACE"] == nil ? .notice : .debug
        let cluster = SandboxCluster(namespaces: namespace)
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
