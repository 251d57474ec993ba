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

    @Test("a retried delivery of the same command starts no second job")
    func duplicateDelivery() async throws {
        try await Harness.run { h in
            let first = try Harness.ephemeralText(try await h.command(Self.release, triggerID: "398738663015.47445629121.803a0bc887a1"))
            let again = try Harness.ephemeralText(try await h.command(Self.release, triggerID: "398738663015.47445629121.803a0bc887a1"))
            #expect(try Harness.jobID(in: first) == Harness.jobID(in: again))
            #expect(again.hasPrefix("(already received)"))
            // Told as the job is now, not as it was when first accepted.
            #expect(JobState.allCases.filter { again.contains("It is \($0.words) now.") }.count == 1, "\(again)")
            #expect(!again.contains("Starting now") && !again.contains("needs 1 approval"), "\(again)")
            #expect(try await h.database.recentJobs(release: nil, limit: 5).count == 1)
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
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
            #expect(try h.cluster.calls().isEmpty)
        }
    }

    @Test("Slack's ssl_check is answered 200")
    func sslCheck() async throws {
        try await Harness.run { h in
            let response = try await h.client.execute(
                uri: "/slack/commands", method: .post,
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
            #expect(try await h.liveTS(job) != nil)
            // The 429 postponed the post by Slack's Retry-After; it was not a failed attempt.
            let live = try #require(try await h.database.notices(jobID: job.id).first { $0.notice.place == .live })
            #expect(live.state == "delivered" && live.attempts == 1)
            #expect(Date().timeIntervalSince(started) >= 1.0)
            #expect(await h.world.slackCalls("chat.postMessage").filter { $0.channel == "C0OPS" && $0.threadTS == nil }.count == 1)
        }
    }

    @Test("the registry API lists models for routers, by environment, on the operators' listener only")
    func registryAPI() async throws {
        try await Harness.run { h in
            try await h.database.setStatus(model: "llama-2-7b", environment: "production", status: .disabled, actor: "cli:test", reason: "test", now: Date())
            let response = try await h.operatorGet("/api/v1/registry?environment=production")
            #expect(response.status == 200)
            let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            let models = try #require(object?["models"] as? [[String: Any]])
            #expect(models.count == 1)
            #expect(models.first?["status"] as? String == "disabled")
            #expect(models.first?["release"] as? String == Self.release)

            let all = try await h.operatorGet("/api/v1/registry")
            let allModels = (try JSONSerialization.jsonObject(with: all.body) as? [String: Any])?["models"] as? [Any]
            #expect(allModels?.count == 2)

            let unknown = try await h.operatorGet("/api/v1/registry?environment=prod")
            #expect(unknown.status == 400)
            #expect(String(decoding: unknown.body, as: UTF8.self).contains("unknown environment"))
            // The Slack-facing listener serves only Slack's routes and health checks.
            #expect(try await h.client.execute(uri: "/api/v1/registry", method: .get).status == .notFound)
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
