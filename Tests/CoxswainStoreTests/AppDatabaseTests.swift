import CoxswainCore
import CoxswainStore
import Foundation
import Testing

@Suite struct AppDatabaseTests {
    func job(_ release: String) -> JobRecord {
        JobRecord(command: "/rollback", release: release, environment: "production", namespace: "production", model: "m",
                  requestedBy: "U1", channelID: "C1", responseURL: nil, requestedRevision: nil, reason: nil, createdAt: Date())
    }

    @Test("one job per release runs at a time; other releases are not held up")
    func claimsOnePerRelease() async throws {
        let db = try AppDatabase.inMemory()
        for (key, release) in [("1", "a"), ("2", "a"), ("3", "b")] {
            _ = try await db.enqueueJob(job(release), requestKey: key, audit: [], now: Date()) { _, _ in [] }
        }
        let first = try #require(try await db.claimNextRunnable(now: Date()))
        let second = try #require(try await db.claimNextRunnable(now: Date()))
        #expect(first.release == "a" && second.release == "b")
        #expect(try await db.claimNextRunnable(now: Date()) == nil)
        try await db.finishJob(jobID: first.id!, state: .succeeded, outcome: "ok", now: Date(), messages: [], audit: [])
        #expect(try await db.claimNextRunnable(now: Date())?.id == 2)
    }

    @Test func aRepeatedRequestKeyReturnsTheFirstJob() async throws {
        let db = try AppDatabase.inMemory()
        let first = try await db.enqueueJob(job("a"), requestKey: "slack:t1", audit: [AuditDraft(actor: "U1", event: "job.requested", detail: "")], now: Date()) { _, _ in [] }
        let again = try await db.enqueueJob(job("a"), requestKey: "slack:t1", audit: [AuditDraft(actor: "U1", event: "job.requested", detail: "")], now: Date()) { _, _ in [] }
        #expect(again.isDuplicate && again.job.id == first.job.id)
        #expect(try await db.recentJobs(limit: 10).count == 1)
        #expect(try await db.auditTail(limit: 10).count == 1)
    }

    @Test("messages go out in order per job, and only the newest live update is sent")
    func outboxOrderAndSuperseding() async throws {
        let db = try AppDatabase.inMemory()
        let enqueued = try await db.enqueueJob(job("a"), requestKey: "k", audit: [], now: Date()) { _, _ in
            [OutgoingDraft(kind: .postLive, channel: "C1", text: "posted")]
        }
        let id = enqueued.job.id!
        let step = try await db.startStep(jobID: id, position: 0, action: "helm.history", title: "t", now: Date(),
                                          messages: [OutgoingDraft(kind: .updateLive, text: "u1")])
        _ = try await db.recordStepResult(step, status: .succeeded, note: nil, detail: nil, now: Date(),
                                          messages: [OutgoingDraft(kind: .updateLive, text: "u2"), OutgoingDraft(kind: .threadReply, text: "detail")], audit: [])
        var batch = try await db.nextDeliverables(now: Date(), limit: 10)
        #expect(batch.map(\.message.text) == ["posted"])
        #expect(batch.first?.liveMessageTS == nil)
        try await db.markDelivered(messageID: batch[0].message.id!, postedTS: "111.222", now: Date())
        #expect(try await db.job(id: id)?.messageTS == "111.222")

        batch = try await db.nextDeliverables(now: Date(), limit: 10)
        #expect(batch.map(\.message.text) == ["u2"])   // u1 superseded by u2
        #expect(batch.first?.liveMessageTS == "111.222")
        try await db.scheduleRetry(messageID: batch[0].message.id!, error: "429", notBefore: Date().addingTimeInterval(60))
        #expect(try await db.nextDeliverables(now: Date(), limit: 10).isEmpty)   // the thread reply waits its turn
        batch = try await db.nextDeliverables(now: Date().addingTimeInterval(61), limit: 10)
        #expect(batch.map(\.message.text) == ["u2"])
        let states = try await db.outgoingMessages(jobID: id).map(\.state)
        #expect(states == [.delivered, .superseded, .pending, .pending])
    }

    @Test func registryChangesAreAuditedAndUnknownModelsRefused() async throws {
        let db = try AppDatabase.inMemory()
        let release = CoxswainConfiguration.Release(name: "r", model: "m", environment: "production", namespace: "production",
                                                    endpoint: URL(string: "http://m:8000")!, hasReadyEndpoint: false, completionSLO: nil)
        try await db.seedRegistry(from: [release], now: Date())
        try await db.setRegistryStatus(model: "m", environment: "production", status: .disabled, actor: "cli:ops", jobID: nil, reason: "test", now: Date())
        try await db.seedRegistry(from: [release], now: Date())   // a restart keeps a disabled model disabled
        #expect(try await db.registryEntry(model: "m", environment: "production")?.status == .disabled)
        #expect(try await db.auditTail(limit: 5).map(\.detail) == ["m in production: ready -> disabled (test)"])
        await #expect(throws: UnknownRegistryEntry.self) {
            try await db.setRegistryStatus(model: "nope", environment: "production", status: .ready, actor: "x", jobID: nil, reason: "", now: Date())
        }
    }

    @Test func aFileDatabaseIsCreatedInWALModeAndReachable() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
        let db = try AppDatabase.open(path: path)
        #expect(await db.isReachable())
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
