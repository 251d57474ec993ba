import CoxswainCore
import CoxswainStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The webhook's other answers, the queue, the notifier's retries, restarts and the
/// registry API.
@Suite("webhook, queue, notifier, restart, registry API", .serialized)
struct WebhookAndServicesTests {
    static let release = "llama-2-7b-production"

    @Test("a second /rollback for a busy release is told its place and runs after the first")
    func secondJobWaitsItsTurn() async throws {
        try await Harness.run { h in
            let first = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release)))
            let secondAck = try Harness.ephemeralText(try await h.command(Self.release))
            #expect(secondAck.contains("number 2 in line"))
            let second = try Harness.jobID(in: secondAck)
            let a = try await h.waitUntilSettled(job: first)
            let b = try await h.waitUntilSettled(job: second)
            #expect(a.state == .succeeded && b.state == .succeeded)
            #expect(try #require(b.startedAt) >= (try #require(a.finishedAt)))
            // The second job saw the first one's rollback (revision 6) and went back to 5.
            #expect(b.plan?.shortText == "revision 6 -> 5")
        }
    }

    @Test("a retried delivery of the same command starts no second job")
    func duplicateDelivery() async throws {
        try await Harness.run { h in
            let first = try Harness.ephemeralText(try await h.command(Self.release, triggerID: "398738663015.47445629121.803a0bc887a1"))
            let again = try Harness.ephemeralText(try await h.command(Self.release, triggerID: "398738663015.47445629121.803a0bc887a1"))
            #expect(try Harness.jobID(in: first) == Harness.jobID(in: again))
            #expect(again.hasPrefix("(already received)"))
            #expect(try await h.database.recentJobs(limit: 5).count == 1)
        }
    }

    @Test("help, bad input and unknown commands are answered and change nothing")
    func helpAndBadInput() async throws {
        try await Harness.run { h in
            let help = try Harness.ephemeralText(try await h.command("help"))
            #expect(help.contains("/rollback RELEASE [REVISION] [REASON…]"))
            let bad = try Harness.ephemeralText(try await h.command("Llama_2;rm"))
            #expect(bad.contains("is not a valid release name"))
            #expect(bad.contains("Example: `/rollback llama-2-7b-production 3`"))
            let empty = try Harness.ephemeralText(try await h.command(""))
            #expect(empty.contains("needs a release name"))
            let unknown = try Harness.ephemeralText(try await h.command("x", command: "/deploy"))
            #expect(unknown.contains("does not know the command `/deploy`"))
            #expect(try await h.database.recentJobs(limit: 5).isEmpty)
            #expect(try h.cluster.calls().isEmpty)
        }
    }

    @Test("Slack's ssl_check is answered 200")
    func sslCheck() async throws {
        try await Harness.run { h in
            let response = try await h.client.execute(uri: "/slack/commands", method: .post,
                                                      headers: [.contentType: "application/x-www-form-urlencoded"],
                                                      body: ByteBuffer(string: "ssl_check=1&token=abc"))
            #expect(response.status == .ok)
        }
    }

    @Test("the notifier honours HTTP 429 Retry-After and delivers later")
    func rateLimited() async throws {
        try await Harness.run { h in
            await h.world.set(rateLimitNext: 1)
            let started = Date()
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .succeeded)
            #expect(job.messageTS != nil)
            let messages = try await h.database.outgoingMessages(jobID: job.id!)
            let post = try #require(messages.first { $0.kind == .postLive })
            #expect(post.state == .delivered)
            #expect(post.attempts == 2)
            #expect(try #require(post.deliveredAt).timeIntervalSince(started) >= 1.0)
        }
    }

    @Test("a job found running at start-up is marked interrupted and the release is left alone")
    func interruptedByRestart() async throws {
        let database = try AppDatabase.inMemory()
        let job = JobRecord(command: "/rollback", release: Self.release, environment: "production", namespace: "production",
                            model: "llama-2-7b", requestedBy: "U0123ALICE", channelID: "C0OPS", responseURL: nil,
                            requestedRevision: nil, reason: nil, createdAt: Date())
        let queued = try await database.enqueueJob(job, requestKey: "k1", audit: [], now: Date()) { _, _ in [] }
        let running = try #require(try await database.claimNextRunnable(now: Date()))
        let step = try await database.startStep(jobID: running.id!, position: 0, action: "helm.history", title: "Show release history", now: Date(), messages: [])
        _ = try await database.recordStepResult(step, status: .succeeded, note: "revision 5 -> 3", detail: nil, now: Date(), messages: [], audit: [])
        _ = try await database.startStep(jobID: running.id!, position: 1, action: "confirm", title: "Confirm rollback target", now: Date(), messages: [])

        try await Harness.run(database: database) { h in
            let id = queued.job.id!
            let deadline = ContinuousClock.now + .seconds(10)
            while try await h.database.job(id: id)?.state != .interrupted, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            let after = try #require(try await h.database.job(id: id))
            #expect(after.state == .interrupted)
            #expect(after.outcome == "interrupted by a restart after step: Show release history")
            #expect(try await h.auditEvents(job: id).last == "job.interrupted")
            #expect(try await h.database.steps(jobID: id).map(\.status) == [.succeeded, .failed])
            #expect(try h.cluster.calls().isEmpty)
            // The audit channel hears about it (the live message was never posted here).
            let deadline2 = ContinuousClock.now + .seconds(10)
            while await h.world.slackCalls("chat.postMessage").isEmpty, ContinuousClock.now < deadline2 { try await Task.sleep(for: .milliseconds(50)) }
            let audit = await h.world.slackCalls("chat.postMessage").filter { $0.channel == "C0AUDIT" }
            #expect(audit.first?.text.contains("interrupted after step: Show release history") == true)
        }
    }

    @Test("the registry API lists models for routers, by environment")
    func registryAPI() async throws {
        try await Harness.run { h in
            try await h.database.setRegistryStatus(model: "llama-2-7b", environment: "production", status: .disabled,
                                                   actor: "cli:test", jobID: nil, reason: "test", now: Date())
            let response = try await h.client.execute(uri: "/api/v1/registry?environment=production", method: .get)
            #expect(response.status == .ok)
            let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
            let models = try #require(object?["models"] as? [[String: Any]])
            #expect(models.count == 1)
            #expect(models.first?["status"] as? String == "disabled")
            #expect(models.first?["release"] as? String == Self.release)

            let all = try await h.client.execute(uri: "/api/v1/registry", method: .get)
            let allModels = (try JSONSerialization.jsonObject(with: Data(all.body.readableBytesView)) as? [String: Any])?["models"] as? [Any]
            #expect(allModels?.count == 2)

            let unknown = try await h.client.execute(uri: "/api/v1/registry?environment=prod", method: .get)
            #expect(unknown.status == .badRequest)
            #expect(String(buffer: unknown.body).contains("unknown environment"))
        }
    }

    @Test("healthz answers, readyz checks the database")
    func healthEndpoints() async throws {
        try await Harness.run { h in
            let health = try await h.client.execute(uri: "/healthz", method: .get)
            let ready = try await h.client.execute(uri: "/readyz", method: .get)
            #expect(health.status == .ok)
            #expect(ready.status == .ok)
            #expect(String(buffer: ready.body) == "ready")
        }
    }
}
