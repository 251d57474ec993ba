import CoxswainCore
import CoxswainSandbox
import CoxswainServer
import Foundation
import Testing

/// The read-only commands, `coxswain doctor` and an unreachable cluster, with the real helm
/// and kubectl.
@Suite("real helm and kubectl: questions, doctor, an unreachable cluster", .enabled(if: !RealTools.matrix.isEmpty))
struct RealToolsQueryTests {
    static let release = "llama-2-7b-production"

    @Test("/history and /status read what helm and kubectl say", arguments: RealTools.matrix)
    func historyAndStatus(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "production", versions: ["0.1.0", "0.2.0", "0.3.0"])
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                try await h.command(Self.release, command: "/history")
                let history = try await h.waitForResponse(containing: "History of `\(Self.release)`")
                let rows = history.split(separator: "\n").filter { $0.first?.isNumber == true }
                #expect(rows.map { $0.split(separator: " ").first.map(String.init) } == ["3", "2", "1"], "\(history)")
                #expect(rows.first?.contains("failed") == true && rows.dropFirst().first?.contains("deployed") == true, "\(history)")
                try await h.command(Self.release, command: "/status")
                let status = try await h.waitForResponse(containing: "Status of `\(Self.release)`")
                #expect(status.contains("CrashLoopBackOff"), "\(status)")
                #expect(status.contains("health: /health 200"), "\(status)")
            }
        }
    }

    @Test("coxswain doctor: helm's version, kubectl and every namespace, from the real programs", arguments: RealTools.matrix)
    func doctor(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "production", versions: ["0.1.0"])
            try await world.setup.install("llama-2-7b-staging", namespace: "staging", versions: ["0.1.0"])
            try await world.setup.install("llama-2-7b-development", namespace: "development", versions: ["0.1.0"])
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                let checks = await Doctor(dependencies: h.dependencies).run()
                let byName = Dictionary(checks.map { ($0.name, $0) }) { first, _ in first }
                let version = pair.name.hasPrefix("helm-3") ? "3.17.2" : "4.1.4"
                #expect(byName["helm"]?.ok == true && byName["helm"]?.detail.contains(version) == true, "\(checks.map(\.line))")
                #expect(byName["kubectl"]?.ok == true, "\(checks.map(\.line))")
                for namespace in ["production", "staging", "development"] {
                    #expect(byName["namespace \(namespace)"]?.ok == true, "\(checks.map(\.line))")
                }
            }
        }
    }

    @Test("an unreachable cluster: helm's own words and the kubeconfig hint; nothing changes", arguments: RealTools.matrix)
    func unreachableCluster(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            // The kubeconfig names a port nothing listens on.
            try SandboxServer.kubeconfig(port: 1).write(to: world.setup.kubeconfig, atomically: true, encoding: .utf8)
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                let job = try await h.runToEnd(Self.release)
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(text.lowercased().contains("kubernetes cluster unreachable"), "\(text)")
                #expect(text.contains("connection refused"), "\(text)")
                #expect(text.contains("KUBECONFIG") || text.contains("kubeconfig"), "\(text)")
                #expect(try await h.registryStatus() == .ready, "a failure before the registry step changes nothing")
            }
        }
    }
}
