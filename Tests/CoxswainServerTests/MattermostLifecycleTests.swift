import CoxswainChat
import CoxswainCore
import CoxswainStore
import Foundation
import Synchronization
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Mattermost's delivery across a crash, with the real `coxswain serve`.
@Suite("Mattermost: a crash while posting", .serialized)
struct MattermostLifecycleTests {
    static let release = ProcessLifecycleTests.release

    static func yaml(_ port: Int) -> String {
        Harness.configurationYAML(
            fakePort: port, completionSLO: nil, approvals: 0, access: MattermostTests.access, channels: MattermostTests.channels,
            worker: "{ lease_duration: 2s }") + Harness.mattermostYAML(fakePort: port)
    }

    static let environment = ["MATTERMOST_BOT_TOKEN": FakeMattermost.botToken, "MATTERMOST_COMMAND_TOKENS": FakeMattermost.commandToken]

    /// A slash command as the Mattermost server posts it to `server`.
    static func command(_ text: String, to server: ServerProcess, fakePort: Int) async throws -> String {
        let fields = [
            ("channel_id", Harness.mattermostOps), ("command", "/rollback"), ("text", text), ("trigger_id", UUID().uuidString),
            ("user_id", Harness.mattermostUserID("alice")), ("user_name", "alice"), ("token", FakeMattermost.commandToken),
        ]
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(server.port)/mattermost/commands")))
        request.httpMethod = "POST"
        request.httpBody = Data(FormDecoding.encode(fields).utf8)
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.setValue("Token \(FakeMattermost.commandToken)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["text"] as? String ?? ""
    }

    @Test("killed between Mattermost's answer and recording it, the next start finds the post by its notice id instead of posting it twice")
    func killBetweenPostAndRecord() async throws {
        let (cluster, gate) = try ProcessLifecycleTests.gatedCluster()
        let path = ProcessLifecycleTests.databasePath()
        try await ProcessLifecycleTests.withFakeSlack { world, port in
            let mattermost = world.mattermost
            let first = try await ServerProcess.start(yaml: Self.yaml(port), database: path, cluster: cluster, environment: Self.environment)
            let killed = Mutex(false)
            await mattermost.set(onPost: { post in
                guard post.channel == Harness.mattermostOps, post.rootID == nil else { return }
                if killed.withLock({ done in
                    defer { done = true }; return !done
                }) {
                    first.signal(SIGKILL)
                }
            })
            let id = try Harness.jobID(in: try await Self.command(Self.release, to: first, fakePort: port))
            _ = try await first.waitForExit()
            await mattermost.set(onPost: nil)
            try Data().write(to: gate)
            let second = try await ServerProcess.start(yaml: Self.yaml(port), database: path, cluster: cluster, environment: Self.environment)
            // Killed while the job ran (interrupted) or, on a loaded machine, while it was queued (the second runs it).
            let live = try await Eventually.value("the job's one message to say how it ended", timeout: .seconds(60)) {
                await mattermost.posts(in: Harness.mattermostOps).first {
                    $0.rootID == nil && $0.message.contains("**Job #\(id)**")
                        && ($0.message.contains("interrupted by a restart") || $0.message.contains("**Result:** rolled back"))
                }
            }
            let roots = await mattermost.posts(in: Harness.mattermostOps).filter { $0.rootID == nil && $0.message.contains("**Job #\(id)**") }
            #expect(roots.count == 1 && roots.first?.id == live.id, "posted once, then edited: \(roots.map(\.id))")
            let database = try AppDatabase.openReadOnly(path: path)
            let recorded = try await database.references(jobID: id, platform: "mattermost").first { $0.role == "live" }?.ts
            #expect(recorded == live.id)
            #expect(second.output.contains("were being sent when Coxswain stopped: 1 found in Mattermost"), "\(second.output)")
            second.signal(SIGTERM)
            _ = try await second.waitForExit()
        }
    }
}
