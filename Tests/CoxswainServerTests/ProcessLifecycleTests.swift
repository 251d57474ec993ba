import CoxswainCore
import CoxswainStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// What happens to jobs and messages when the process is stopped, killed, or shares its
/// database with another server: always with the real `coxswain serve`.
@Suite("shutdown, kill, two servers", .serialized)
struct ProcessLifecycleTests {
    static let release = "llama-2-7b-production"

    static func gatedCluster() throws -> (StandInCluster, URL) {
        let gate = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID().uuidString)")
        var state = StandInCluster.standardRelease()
        var releases = state["releases"] as! [String: Any]
        var release = releases[release] as! [String: Any]
        release["rollback_gate"] = gate.path
        releases[Self.release] = release
        var development: [String: Any] = [
            "namespace": "system", "revisions": [StandInCluster.revision(1, "superseded"), StandInCluster.revision(2, "deployed")],
        ]
        development["pods_after_rollback"] = [[String: Any]]()
        releases["llama-2-7b-development"] = development
        state["releases"] = releases
        return (try StandInCluster(state: state), gate)
    }

    static func yaml(_ fakePort: Int, worker: String = "{ shutdown_grace: 5s }") -> String {
        Harness.configurationYAML(fakePort: fakePort, completionSLO: nil, approvals: 0, access: Harness.legacyUsers, worker: worker)
    }

    static func databasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
    }

    static func withFakeSlack(_ body: @Sendable (FakeWorld, Int) async throws -> Void) async throws {
        let world = FakeWorld()
        try await FakeServer.application(world).test(.live) { fake in try await body(world, try #require(fake.port)) }
    }

    @Test("SIGTERM during a job: requests are still answered and stored, the job finishes, its result reaches Slack, then the process exits")
    func gracefulShutdown() async throws {
        let (cluster, gate) = try Self.gatedCluster()
        let path = Self.databasePath()
        try await Self.withFakeSlack { world, port in
            let server = try await ServerProcess.start(yaml: Self.yaml(port, worker: "{ shutdown_grace: 60s }"), database: path, cluster: cluster)
            let first = try Harness.jobID(in: try await server.command(Self.release, fakePort: port).text)
            try await Eventually.until("helm rollback to start") { try cluster.calls().contains { $0.prefix(2) == ["helm", "rollback"] } }
            server.signal(SIGTERM)
            try await Eventually.until("the worker to drain") { server.output.contains("shutting down: waiting up to") }
            let during = try await server.command("llama-2-7b-development", fakePort: port)
            #expect(during.status == 200)
            #expect(during.text.contains("Coxswain is restarting: the job is stored and starts as soon as it is back"))
            let second = try Harness.jobID(in: during.text)
            try Data().write(to: gate)
            #expect(try await server.waitForExit() == 0, "\(server.output)")
            let database = try AppDatabase.openReadOnly(path: path)
            #expect(try await database.job(id: first)?.state == .succeeded)
            #expect(try await database.job(id: second)?.state == .queued)  // stored, runs at the next start
            let live = try #require(try await database.references(jobID: first, platform: "slack").first { $0.role == "live" }?.ts)
            let last = await world.slackCalls("chat.update").last { $0.ts == live }
            #expect(last?.text.contains("*Result:* rolled back") == true)
            #expect(try await database.pending(platform: "slack").count == 0)
        }
    }

    @Test("a job that outlasts the shutdown grace is stopped and recorded as interrupted, and Slack hears it")
    func graceRunsOut() async throws {
        let (cluster, _) = try Self.gatedCluster()
        let path = Self.databasePath()
        try await Self.withFakeSlack { world, port in
            let server = try await ServerProcess.start(yaml: Self.yaml(port, worker: "{ shutdown_grace: 1s }"), database: path, cluster: cluster)
            let id = try Harness.jobID(in: try await server.command(Self.release, fakePort: port).text)
            try await Eventually.until("helm rollback to start") { try cluster.calls().contains { $0.prefix(2) == ["helm", "rollback"] } }
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0, "\(server.output)")
            let database = try AppDatabase.openReadOnly(path: path)
            let job = try #require(try await database.job(id: id))
            #expect(job.state == .interrupted)
            #expect(job.outcome == "interrupted by a shutdown that could not wait after step: Disable model in registry")
            #expect(job.steps.allSatisfy { $0.status != .running })
            let live = try #require(try await database.references(jobID: id, platform: "slack").first { $0.role == "live" }?.ts)
            #expect(await world.slackCalls("chat.update").last { $0.ts == live }?.text.contains("interrupted by a shutdown") == true)
        }
    }

    @Test("killed between Slack's answer and recording it, the next start finds the post instead of posting it twice")
    func killBetweenPostAndRecord() async throws {
        let (cluster, gate) = try Self.gatedCluster()
        let path = Self.databasePath()
        try await Self.withFakeSlack { world, port in
            let first = try await ServerProcess.start(yaml: Self.yaml(port, worker: "{ lease_duration: 2s }"), database: path, cluster: cluster)
            let killed = Mutex(false)
            await world.set(onPost: { posted in
                guard posted.channel == "C0OPS", posted.threadTS == nil else { return }
                if killed.withLock({ done in
                    defer { done = true }; return !done
                }) {
                    first.signal(SIGKILL)
                }
            })
            let id = try Harness.jobID(in: try await first.command(Self.release, fakePort: port).text)
            _ = try await first.waitForExit()
            await world.set(onPost: nil)
            try Data().write(to: gate)
            let second = try await ServerProcess.start(yaml: Self.yaml(port, worker: "{ lease_duration: 2s }"), database: path, cluster: cluster)
            // Killed while the job ran (it is interrupted) or, on a loaded machine, while it was
            // still queued (the second server runs it): either way its one message says how it ended.
            try await Eventually.until("the job's message to say how it ended") {
                await world.slackCalls("chat.update").contains {
                    $0.text.contains("Job #\(id)") && ($0.text.contains("interrupted by a restart") || $0.text.contains("Result:* rolled back"))
                }
            }
            let posts = await world.slackCalls("chat.postMessage").filter { $0.channel == "C0OPS" && $0.threadTS == nil && $0.text.contains("Job #\(id)") }
            #expect(posts.count == 1)
            let database = try AppDatabase.openReadOnly(path: path)
            let ts = try await database.references(jobID: id, platform: "slack").first { $0.role == "live" }?.ts
            let firstPost = await world.posted.first { $0.channel == "C0OPS" }
            #expect(ts != nil && ts == firstPost?.ts)
            #expect(second.output.contains("were being sent when Coxswain stopped: 1 found in Slack"))
            second.signal(SIGTERM)
            _ = try await second.waitForExit()
        }
    }

    @Test("killed mid-rollback and started again on the same machine: the new process takes the lease and the job over at once, not after lease_duration")
    func restartTakesOverAtOnce() async throws {
        let (cluster, gate) = try Self.gatedCluster()
        let path = Self.databasePath()
        try await Self.withFakeSlack { world, port in
            // 120 s: everything below must happen well before either the lease or the claim could expire.
            let worker = "{ lease_duration: 120s }"
            let first = try await ServerProcess.start(yaml: Self.yaml(port, worker: worker), database: path, cluster: cluster)
            let id = try Harness.jobID(in: try await first.command(Self.release, fakePort: port).text)
            try await Eventually.until("helm rollback to start") { try cluster.calls().contains { $0.prefix(2) == ["helm", "rollback"] } }
            first.signal(SIGKILL)
            _ = try await first.waitForExit()
            try Data().write(to: gate)
            let second = try await ServerProcess.start(yaml: Self.yaml(port, worker: worker), database: path, cluster: cluster)
            defer { second.signal(SIGKILL) }
            try await Eventually.until("the new process to take the lease at once") { second.output.contains("taking the lease at once") }
            let database = try AppDatabase.openReadOnly(path: path)
            try await Eventually.until("job \(id) to succeed") { try await database.job(id: id)?.state == .succeeded }
            #expect(try cluster.calls().filter { $0.prefix(2) == ["helm", "rollback"] }.count == 1)
            let live = try #require(try await database.references(jobID: id, platform: "slack").first { $0.role == "live" }?.ts)
            try await Eventually.until("the live message to say it was taken over and rolled back") {
                await world.slackCalls("chat.update").contains {
                    $0.ts == live && $0.text.contains("taken over by replica") && $0.text.contains("Result:* rolled back")
                }
            }
            second.signal(SIGTERM)
            #expect(try await second.waitForExit() == 0)
        }
    }

    @Test("two servers on one database: the job's server killed mid-rollback, the other takes it over at once and finishes it with no second helm rollback")
    func twoServersOneDatabase() async throws {
        let (cluster, gate) = try Self.gatedCluster()
        let path = Self.databasePath()
        try await Self.withFakeSlack { world, port in
            // Claims last 20 s: a takeover sooner than that is the same-machine shortcut, not an expiry.
            let lease = "{ lease_duration: 20s }"
            let first = try await ServerProcess.start(yaml: Self.yaml(port, worker: lease), database: path, cluster: cluster)
            let second = try await ServerProcess.start(yaml: Self.yaml(port, worker: lease), database: path, cluster: cluster)
            // A failed expectation must not leave a server running (a pipe handler keeps each alive).
            defer { [first, second].forEach { $0.signal(SIGKILL) } }
            let id = try Harness.jobID(in: try await second.command(Self.release, fakePort: port).text)
            try await Eventually.until("helm rollback to start") { try cluster.calls().contains { $0.prefix(2) == ["helm", "rollback"] } }
            let database = try AppDatabase.openReadOnly(path: path)
            let claimed = try #require(try await database.job(id: id)?.claim)
            let (runner, other) = claimed.runner.pid == Int(first.pid) ? (first, second) : (second, first)
            #expect(claimed.runner.pid == Int(runner.pid) && claimed.generation == 1)
            runner.signal(SIGKILL)
            _ = try await runner.waitForExit()
            let taken = try await Eventually.value("job \(id) taken over") {
                try await database.job(id: id).flatMap { ($0.claim?.generation ?? 0) > 1 ? $0 : nil }
            }
            #expect(taken.claim?.runner.pid == Int(other.pid))
            #expect(try #require(taken.claim?.renewedAt) < claimed.expiresAt, "taken over before the dead runner's claim expired")
            #expect(taken.handover?.hasPrefix("taken over by replica") == true)
            let audit = try await database.entries(jobID: id).filter { $0.event == "job.taken_over" }
            #expect(audit.count == 1 && audit.first?.detail.contains("its runner's process is gone") == true)
            // helm is still applying the dead server's rollback: the new runner waits for it, and runs none of its own.
            try Data().write(to: gate)
            try await Eventually.until("job \(id) to finish") { try await database.job(id: id)?.state.isFinished == true }
            let done = try #require(try await database.job(id: id))
            #expect(done.state == .succeeded, "\(done.outcome ?? "")")
            #expect(done.steps.first { $0.action == "helm.rollback" }?.note?.hasPrefix("landed before the takeover") == true)
            #expect(try cluster.calls().filter { $0.prefix(2) == ["helm", "rollback"] }.count == 1)
            let live = try #require(try await database.references(jobID: id, platform: "slack").first { $0.role == "live" }?.ts)
            try await Eventually.until("the live message to say it was taken over and how it ended") {
                await world.slackCalls("chat.update").contains {
                    $0.ts == live && $0.text.contains("taken over by replica") && $0.text.contains("Result:* rolled back")
                }
            }
            // The survivor runs new jobs itself.
            let next = try Harness.jobID(in: try await other.command("llama-2-7b-development", fakePort: port).text)
            let ran = try await Eventually.value("job \(next) to finish") { try await database.job(id: next).flatMap { $0.state.isFinished ? $0 : nil } }
            #expect(ran.claim?.runner.pid == Int(other.pid))
            other.signal(SIGTERM)
            #expect(try await other.waitForExit() == 0)
        }
    }
}
