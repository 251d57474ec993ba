import CoxswainCore
import CoxswainSandbox
import Foundation
import Testing

/// The upgrade runbook against the sandbox cluster with the real helm and kubectl.
@Suite("real helm and kubectl: upgrades", .enabled(if: !RealTools.matrix.isEmpty))
struct RealToolsUpgradeTests {
    static let release = "llama-2-7b-staging"

    @Test("an upgrade reuses the values the release had (--reset-then-reuse-values) and follows the release channels", arguments: RealTools.matrix)
    func upgradeAndChannels(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "staging", versions: ["0.1.0", "0.2.0"])
            try await world.setup.helm([
                "upgrade", Self.release, SandboxSetup.chartReference, "--version", "0.2.0", "-n", "staging", "--reuse-values", "--set", "replicaCount=1",
                "--wait",
            ])
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                let job = try await h.runToEnd("\(Self.release) 0.3.1 fixes routing timeouts", command: "/upgrade")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .succeeded, "\(text)")
                let last = try #require(try await RealToolsRollbackTests.history(world, Self.release, namespace: "staging").last)
                #expect(last["chart"] as? String == "vllm-deployment-0.3.1" && last["status"] as? String == "deployed")
                let deployment = try await world.setup.kubectl(["get", "deployment", Self.release, "-n", "staging", "-o", "jsonpath={.spec.replicas}"])
                #expect(deployment == "1", "the value set before the upgrade is kept")
                // A nightly build is accepted in staging, and helm gets its semver form.
                let nightly = try await h.runToEnd("\(Self.release) nightly-20261120", command: "/upgrade")
                let nightlyText = try await h.liveMessageText(job: nightly)
                #expect(nightly.state == .succeeded, "\(nightlyText)")
                let newest = try #require(try await RealToolsRollbackTests.history(world, Self.release, namespace: "staging").last)
                #expect(newest["chart"] as? String == "vllm-deployment-0.0.0-nightly.20261120")
                // latest is for development only: the policy step refuses it before helm changes anything.
                let latest = try await h.runToEnd("\(Self.release) latest", command: "/upgrade")
                let latestText = try await h.liveMessageText(job: latest)
                #expect(latest.state == .failed && latestText.contains("❌ Check version policy"), "\(latestText)")
                #expect(try await RealToolsRollbackTests.history(world, Self.release, namespace: "staging").count == 5)
            }
        }
    }

    @Test("an upgrade whose pods crash-loop ends there with the container's last log line, helm recording it failed, and offers the rollback",
        arguments: RealTools.matrix)
    func crashLoopingUpgrade(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "staging", versions: ["0.1.0", "0.2.0"])
            try await world.coxswain(access: RealToolsRollbackTests.access, timeouts: "10m0s") { h in
                let job = try await h.runToEnd("\(Self.release) 0.3.0", command: "/upgrade")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(text.contains("ended early: CrashLoopBackOff"), "\(text)")
                #expect(text.contains("its last log line: ValueError: The model's max seq len (32768)"), "\(text)")
                #expect(text.contains("Roll back to revision 2") || text.contains("rollback \(Self.release) 2"), "\(text)")
                let last = try #require(try await RealToolsRollbackTests.history(world, Self.release, namespace: "staging").last)
                #expect(last["status"] as? String == "failed", "helm itself marked the revision failed")
            }
        }
    }

    @Test("a release stuck in pending-upgrade (a helm killed mid-upgrade) gets helm's 'another operation is in progress'", arguments: RealTools.matrix)
    func anotherOperationInProgress(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "staging", versions: ["0.1.0", "0.2.0"])
            // A helm upgrade that waits for pods that never become ready, killed while it waits.
            let stuck = Process()
            stuck.executableURL = world.setup.tools.helm
            stuck.arguments = ["upgrade", Self.release, SandboxSetup.chartReference, "--version", "0.3.0", "-n", "staging", "--wait", "--timeout", "120s"]
            stuck.environment = world.setup.environment
            stuck.standardOutput = FileHandle.nullDevice
            stuck.standardError = FileHandle.nullDevice
            try stuck.run()
            try await Eventually.until("the release to be pending-upgrade") {
                (try? await world.setup.helm(["status", Self.release, "-n", "staging", "-o", "json"]))?.contains("\"pending-upgrade\"") == true
            }
            kill(stuck.processIdentifier, SIGKILL)
            try await Eventually.until("the stuck helm to be gone") { !stuck.isRunning }
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                let job = try await h.runToEnd("\(Self.release) 0.3.1", command: "/upgrade")
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed, "\(text)")
                #expect(text.contains("another operation (install/upgrade/rollback) is in progress"), "\(text)")
                #expect(text.contains("A rollback clears it"), "\(text)")
            }
        }
    }

    @Test("production takes a version only after a Coxswain job validated it in staging (the chart read with helm get metadata)", arguments: RealTools.matrix)
    func promotionGate(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await world.setup.install(Self.release, namespace: "staging", versions: ["0.1.0", "0.2.0"])
            try await world.setup.install("llama-2-7b-production", namespace: "production", versions: ["0.1.0", "0.2.0"])
            try await world.coxswain(access: RealToolsRollbackTests.access) { h in
                let early = try await h.runToEnd("llama-2-7b-production 0.3.1", command: "/upgrade")
                let earlyText = try await h.liveMessageText(job: early)
                #expect(early.state == .failed && earlyText.contains("runs chart version 0.2.0 (deployed), not 0.3.1"), "\(earlyText)")
                let staging = try await h.runToEnd("\(Self.release) 0.3.1", command: "/upgrade")
                #expect(staging.state == .succeeded)
                let production = try await h.runToEnd("llama-2-7b-production 0.3.1", command: "/upgrade")
                let text = try await h.liveMessageText(job: production)
                #expect(production.state == .succeeded, "\(text)")
                let last = try #require(try await RealToolsRollbackTests.history(world).last)
                #expect(last["chart"] as? String == "vllm-deployment-0.3.1")
            }
        }
    }
}
