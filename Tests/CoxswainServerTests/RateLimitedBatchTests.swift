import CoxswainChat
import CoxswainCore
import CoxswainHTTP
@testable import CoxswainServer
@testable import CoxswainStore
import Foundation
import GRDB
import Synchronization
import Testing

/// Under a rate limit every new job's first post is due at once; what the notifier does with
/// them decides whether the store stays free for the webhook.
@Suite("Rate-limited batches")
struct RateLimitedBatchTests {
    @Test("messages Slack holds back by a 429 wait together in one write, untried; the rest are handed back to send")
    func heldBatchWaitsTogether() async throws {
        let world = FakeWorld()
        try await FakeServer.application(world).test(.live) { fakeClient in
            let port = try #require(fakeClient.port)
            let store = try AppDatabase.inMemory()
            let outbox = RecordingOutbox(store: store)
            let now = Date()
            for n in 1...5 { try await store.enqueue([.message("post \(n)", jobID: nil, place: .channel("C0OPS"))], platform: "slack", route: nil, now: now) }
            let reply = Notice.message("an answer", jobID: nil, place: .person("U0123ALICE"))
            try await store.enqueue([reply], platform: "slack", route: "http://127.0.0.1:\(port)/respond/1", now: now)

            let slack = SlackWebClient(http: OutboundHTTP(environment: [:]), apiURL: URL(string: "http://127.0.0.1:\(port)/api")!, token: Secret("xoxb-test"))
            // One 429 for chat.postMessage pauses the method for 30 s, for every caller.
            await world.set(rateLimitNext: 1, retryAfter: 30)
            await #expect(throws: SlackDeliveryError.self) {
                _ = try await slack.postMessage(channel: "C0OPS", text: "first", blocksJSON: nil, threadTS: nil)
            }
            let delivery = SlackNoticeDelivery(
                outbox: outbox, slack: slack, renderer: SlackNoticeRenderer(), auditChannel: nil, giveUpAfter: 3600, now: { Date() })

            let batch = try await store.due(platform: "slack", now: Date(), limit: 20)
            #expect(batch.count == 6)
            let toSend = try await delivery.postponeHeld(batch)
            // The reply goes through its response URL, which no rate limit of the Web API holds.
            #expect(toSend.map(\.notice.plainText) == ["an answer"])
            let retries = outbox.retries.withLock { $0 }
            #expect(retries.count == 1, "one write for the whole batch, not one per message: \(retries)")
            #expect(Set(retries.first?.ids ?? []) == Set(batch.filter { $0.notice.place != reply.place }.map(\.id)))
            #expect(retries.first?.error.contains("chat.postMessage") == true && retries.first?.countsAsAttempt == false)
            // Nothing more reached Slack, and the five are not due again before Slack's 30 s have passed.
            #expect(await world.refused.rateLimited == 1)
            #expect(await world.slackCalls("chat.postMessage").isEmpty)
            #expect(try await store.due(platform: "slack", now: Date().addingTimeInterval(25), limit: 20).isEmpty)
            let later = try await store.due(platform: "slack", now: Date().addingTimeInterval(31), limit: 20)
            #expect(later.count == 5 && later.allSatisfy { $0.attempts == 0 })
        }
    }

    @Test("while Slack takes no new post, a new job's messages are written due when that ends: not taken and put back, then each posted once")
    func newJobsWaitOutTheHold() async throws {
        try await Harness.run { h in
            let db = try #require(h.database as? AppDatabase)
            // Long enough for the second request to come within the hold on a loaded machine.
            await h.world.set(rateLimitNext: 1, retryAfter: 10)
            let first = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("llama-2-7b-production")))
            // The notifier met the 429 (the first job's post, taken and put back) and told the store.
            let held = try await Eventually.value("the store to know Slack's hold") { db.noticePlatforms.postsDue(now: Date())["slack"] }
            let second = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("llama-2-7b-development", user: "U0456BOB")))
            func tried(_ id: Int64) async throws -> [String] {
                try await db.writer.read {
                    try String.fetchAll($0, sql: "SELECT lastError FROM notice WHERE jobID = ? AND lastError IS NOT NULL", arguments: [id])
                }
            }
            #expect(try await tried(first).contains { $0.contains("chat.postMessage") })
            #expect(try await tried(second).isEmpty, "the second job's messages were taken while Slack held posts back")
            let due = try await db.writer.read {
                try Date.fetchOne($0, sql: "SELECT notBefore FROM notice WHERE jobID = ? AND place = 'live'", arguments: [second])
            }
            let liveDue = try #require(due)
            #expect(abs(liveDue.timeIntervalSince(held)) < 0.01, "the live message is due at \(liveDue), the hold ends at \(held)")
            for id in [first, second] { _ = try await h.waitUntilSettled(job: id) }
            #expect(await h.world.refused.rateLimited == 1)
            for id in [first, second] {
                let job = try #require(try await h.database.job(id: id))
                let ts = try #require(try await h.liveTS(job))
                #expect(await h.world.posted.filter { $0.threadTS == nil && $0.ts == ts }.count == 1)
            }
        }
    }

    @Test("while a hold lasts, a pass that was not full lets new work gather for 250 ms, never past the hold; otherwise it goes on at once")
    func gatherWhileHeld() {
        let now = Date()
        let held = now.addingTimeInterval(30)
        #expect(Notifier.gathering(afterTrying: 3, heldUntil: held, now: now) == .milliseconds(250))
        #expect(Notifier.gathering(afterTrying: 3, heldUntil: now.addingTimeInterval(0.0405), now: now) == .milliseconds(40))
        #expect(Notifier.gathering(afterTrying: 3, heldUntil: now.addingTimeInterval(-1), now: now) == .milliseconds(1))
        // Nothing held, a full batch (more may be due now), or nothing tried (handled apart): no gathering.
        #expect(Notifier.gathering(afterTrying: 3, heldUntil: nil, now: now) == nil)
        #expect(Notifier.gathering(afterTrying: Notifier.batchSize, heldUntil: held, now: now) == nil)
        #expect(Notifier.gathering(afterTrying: 0, heldUntil: held, now: now) == nil)
    }
}

/// The real store, with the retries it was asked for written down.
private final class RecordingOutbox: OutboxStore {
    struct Retry: Sendable { var ids: [Int64]; var error: String; var countsAsAttempt: Bool }
    let store: AppDatabase
    let retries = Mutex<[Retry]>([])
    init(store: AppDatabase) { self.store = store }

    func retry(_ ids: [Int64], error: String, notBefore: Date, countsAsAttempt: Bool) async throws {
        retries.withLock { $0.append(Retry(ids: ids, error: error, countsAsAttempt: countsAsAttempt)) }
        try await store.retry(ids, error: error, notBefore: notBefore, countsAsAttempt: countsAsAttempt)
    }
    func enqueue(_ notices: [Notice], platform: String, route: String?, now: Date) async throws {
        try await store.enqueue(notices, platform: platform, route: route, now: now)
    }
    func due(platform: String, now: Date, limit: Int) async throws -> [OutboxItem] { try await store.due(platform: platform, now: now, limit: limit) }
    func inFlight(platform: String) async throws -> [OutboxItem] { try await store.inFlight(platform: platform) }
    func nextDue(platform: String) async throws -> Date? { try await store.nextDue(platform: platform) }
    func delivered(_ id: Int64, reference: MessageReference?, now: Date) async throws -> Bool {
        try await store.delivered(id, reference: reference, now: now)
    }
    func failed(_ id: Int64, error: String, audit: AuditDraft?, followUps: [Notice], now: Date) async throws {
        try await store.failed(id, error: error, audit: audit, followUps: followUps, now: now)
    }
    func references(jobID: Int64, platform: String) async throws -> [MessageReference] { try await store.references(jobID: jobID, platform: platform) }
    func saveReference(_ reference: MessageReference) async throws { try await store.saveReference(reference) }
    func pending(platform: String) async throws -> (count: Int, oldest: Date?) { try await store.pending(platform: platform) }
    func latest(jobID: Int64, place: Notice.Place) async throws -> Notice? { try await store.latest(jobID: jobID, place: place) }
    func notices(jobID: Int64?) async throws -> [(notice: Notice, state: String, attempts: Int)] { try await store.notices(jobID: jobID) }
    func holdPosts(on platform: String, until: Date) { store.holdPosts(on: platform, until: until) }
}
