import CoxswainCore
import CoxswainStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// What the channel says when the cluster misbehaves is what helm or kubectl said went
/// wrong, with the hint for that cause; and nothing of Coxswain's secrets reaches them.
@Suite("cluster messages and secrets", .serialized)
struct ClusterMessagesTests {
    static let release = "llama-2-7b-production"
    static let access = """
        roles:
          oncall: { grants: [rollback, emergency], environments: [production] }
        members: { U0123ALICE: [oncall] }
        """

    @Test("break-glass against an unreachable cluster reports helm's own error and the kubeconfig hint, not a warning")
    func unreachableCluster() async throws {
        var state = StandInCluster.standardRelease()
        state["unreachable"] = "127.0.0.1:1"
        state["kubeconfig_readable"] = true
        try await Harness.run(cluster: state, access: Self.access) { h in
            let job = try await h.runToEnd("\(Self.release) --emergency pods OOM")
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("failed at step “Show release history”: Error: Kubernetes cluster unreachable: Get \"http://127.0.0.1:1/version\""))
            #expect(text.contains("cannot reach the Kubernetes API server") && text.contains("kubectl cluster-info"))
            #expect(!text.contains("WARNING") && !text.contains("probe"))
        }
    }

    @Test("warnings before a successful call change nothing; helm and kubectl never see the Slack secrets")
    func warningsAndEnvironment() async throws {
        var state = StandInCluster.standardRelease()
        state["kubeconfig_readable"] = true
        try await Harness.run(cluster: state, access: Self.access) { h in
            #expect(try await h.runToEnd(Self.release).state == .succeeded)
            let environments = try h.cluster.environments()
            #expect(!environments.isEmpty)
            for names in environments {
                #expect(names.contains("PATH") && names.contains("HOME"))
                #expect(!names.contains { $0.hasPrefix("SLACK_") }, "\(names)")
            }
        }
    }

    @Test("with --log-level debug, the server never prints the bot token or the signing secret")
    func noSecretsInDebugLogs() async throws {
        let cluster = try StandInCluster(state: StandInCluster.standardRelease())
        let world = FakeWorld()
        try await FakeServer.application(world).test(.live) { fake in
            let port = try #require(fake.port)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
            let yaml = Harness.configurationYAML(fakePort: port, completionSLO: nil, approvals: 0, access: Harness.legacyUsers)
            let server = try await ServerProcess.start(yaml: yaml, database: path, cluster: cluster, arguments: ["--log-level", "trace"])
            let id = try Harness.jobID(in: try await server.command(Self.release, fakePort: port).text)
            let database = try AppDatabase.openReadOnly(path: path)
            try await Eventually.until("the job to finish") { try await database.job(id: id)?.state.isFinished == true }
            try await Eventually.until("its messages to be out") { try await database.pending(platform: "slack").count == 0 }
            server.signal(SIGTERM)
            _ = try await server.waitForExit()
            #expect(server.output.contains("debug"))
            #expect(!server.output.contains(Harness.signingSecret))
            #expect(!server.output.contains(Harness.botToken))
        }
    }
}
