import CoxswainAudit
import CoxswainCore
import CoxswainHTTP
import CoxswainStore
import Foundation
import Logging
import Testing

@testable import CoxswainServer

/// When checkpoints are made, and what happens when a place they are published to fails.
@Suite struct AuditCheckpointTests {
    @Test("a checkpoint only when entries were written since the last; each extends the one before")
    func onlyWhenSomethingIsNew() async throws {
        let store = try AppDatabase.inMemory()
        let http = OutboundHTTP(environment: [:])
        defer { Task { await http.shutdown() } }
        let service = AuditCheckpoints(
            key: nil, audit: CoxswainConfiguration.Audit(), auditChannel: "C0AUDIT", store: store, http: http, signal: WorkSignal(),
            notifierSignal: WorkSignal(), now: { Date() }, logger: Logger(label: "test"))
        let key = AuditSigningKey.generate()
        #expect(await service.checkpoint(key) == nil)  // an empty trail: nothing to sign
        try await store.append(AuditDraft(actor: "U1", event: "test.one", detail: ""), jobID: nil, notices: [], now: Date())
        let first = try #require(await service.checkpoint(key))
        #expect(first.seq == 1 && first.previous == AuditChain.genesis && first.installation.hasPrefix("coxswain-"))
        #expect(await service.checkpoint(key) == nil)  // nothing new: idle stays idle
        try await store.append(AuditDraft(actor: "U1", event: "test.two", detail: ""), jobID: nil, notices: [], now: Date())
        let second = try #require(await service.checkpoint(key))
        #expect(second.seq == 2 && second.previous == first.lineHash && second.installation == first.installation)
        #expect(second.isSigned(by: key.publicKey))
        // Each is posted to the audit channel with the line in it.
        let posted = try await store.notices().map(\.notice.plainText)
        #expect(posted.count == 2 && posted[1].contains(second.line), "\(posted)")
    }

    @Test("a checkpoint file that cannot be written and a URL that refuses: the checkpoint stands, and the audit channel is told of each")
    func destinationsFail() async throws {
        let key = AuditSigningKey.generate()
        let file = "/nonexistent-\(UUID().uuidString)/checkpoints.log"
        let extra = "audit: { checkpoint_file: \(file), checkpoint_url: http://127.0.0.1:9/services/T0/B0/TOKEN-IN-PATH }"
        try await Harness.run(extra: extra, auditSigningKey: key) { h in
            _ = try await h.runToEnd("llama-2-7b-production")
            try await Eventually.until("both failures told in the audit channel") {
                await h.world.slackCalls("chat.postMessage").filter { $0.channel == "C0AUDIT" && $0.text.contains("Could not publish") }.count == 2
            }
            let line = try #require(try await h.database.lastCheckpoint()?.line)
            #expect(await h.world.slackCalls("chat.postMessage").contains { $0.channel == "C0AUDIT" && $0.text.contains(line) })
            let entries = try await h.database.tail(limit: 5).filter { $0.event == "audit.checkpoint_unpublished" }
            #expect(entries.count == 2, "\(entries)")
            // The URL is named by its host: a webhook's path carries its token.
            #expect(entries.contains { $0.detail.hasPrefix("http://127.0.0.1/…") } && !entries.contains { $0.detail.contains("TOKEN-IN-PATH") }, "\(entries)")
        }
    }

    @Test("the signing key comes from COXSWAIN_AUDIT_SIGNING_KEY or the file _FILE names; anything else is refused at start, the key never shown")
    func signingKeyFromTheEnvironment() throws {
        let key = AuditSigningKey.generate()
        #expect(try ConfigurationFiles.auditSigningKey([:]) == nil)
        #expect(try ConfigurationFiles.auditSigningKey(["COXSWAIN_AUDIT_SIGNING_KEY": key.base64])?.publicKey.base64 == key.publicKey.base64)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)")
        try (key.base64 + "\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(try ConfigurationFiles.auditSigningKey(["COXSWAIN_AUDIT_SIGNING_KEY_FILE": file.path])?.publicKey.base64 == key.publicKey.base64)
        do {
            _ = try ConfigurationFiles.auditSigningKey(["COXSWAIN_AUDIT_SIGNING_KEY": "c2VjcmV0LXNlY3JldA=="])
            Issue.record("a 12-byte key was taken")
        } catch {
            #expect("\(error)".contains("coxswain audit keygen") && !"\(error)".contains("c2VjcmV0"), "\(error)")
        }
        #expect(throws: (any Error).self) { try ConfigurationFiles.auditSigningKey(["COXSWAIN_AUDIT_SIGNING_KEY_FILE": "/nonexistent/key"]) }
    }
}
