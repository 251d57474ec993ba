import CoxswainAudit
import CoxswainCore
import Foundation
import Testing

/// The audit trail as a hash chain, on both stores: every way an entry is written is chained in
/// one order (PostgreSQL's trigger and SQLite's Swift computing the same bytes, checked by the
/// verifier both stores share), and the database refuses changes and deletions.
@Suite struct AuditChainContractTests {
    static func verify(_ db: any StorePorts, checkpoints: [Checkpoint] = [], key: AuditPublicKey? = nil) async throws -> AuditVerification {
        var verification = AuditVerification(checkpoints: checkpoints, publicKey: key)
        var after: Int64 = 0
        while true {
            let page = try await db.entries(after: after, limit: 7)
            guard let last = page.last else { break }
            page.forEach { verification.add($0) }
            after = last.seq
        }
        verification.finish()
        return verification
    }

    @Test("entries written every way form one chain from 1 that verifies: requests taken together, a transition's, writers at once, any text",
        arguments: StoreKind.tested)
    func everyWayChained(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        #expect(try await db.head() == nil)
        // Requests taken at once: on PostgreSQL one intake group writes their entries in one statement.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<12 { group.addTask { _ = try await AppDatabaseTests.accept(db, "r\(n % 3)", key: "k\(n)") } }
            try await group.waitForAll()
        }
        // A transition writing several entries: on PostgreSQL one statement each, in one transaction.
        let claimed = try await db.claimNext(now: Date()) { job in
            var running = job
            running.state = .running
            running.runnerID = "test"
            return JobChange(job: running, audit: (1...3).map { AuditDraft(actor: "coxswain", event: "test.step\($0)", detail: "") })
        }
        #expect(claimed != nil)
        // Writers at once, each its own transaction: one order all the same.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for n in 0..<10 {
                        try await db.append(AuditDraft(actor: "w\(writer)", event: "test.\(n)", detail: ""), jobID: nil, notices: [], now: Date())
                    }
                }
            }
            try await group.waitForAll()
        }
        let unusual = "détail «naïve» 🚀\nline two\u{1}\tend, and an empty actor next"
        try await db.append(AuditDraft(actor: "", event: "test.unusual", detail: unusual), jobID: nil, notices: [], now: Date())
        try await db.append(AuditDraft(actor: "cli:ops", event: "test.job", detail: ""), jobID: 1, notices: [], now: Date(timeIntervalSince1970: 0.001))
        let verification = try await Self.verify(db)
        #expect(verification.problems.isEmpty, "\(verification.problems)")
        #expect(verification.entries == 57)
        #expect(try await db.head() == verification.head)
        #expect(try await db.entries(after: 0, limit: 100).map(\.seq) == Array(1...57))
        #expect(try await db.tail(limit: 1).first?.detail == "")
        #expect(try await db.entries(after: 55, limit: 1).first?.detail == unusual)
        // U+0000 cannot be stored by PostgreSQL nor read back whole from SQLite: an entry holds U+FFFD instead.
        try await db.append(AuditDraft(actor: "U1", event: "test.nul", detail: "a\u{0}b"), jobID: nil, notices: [], now: Date())
        #expect(try await db.tail(limit: 1).first?.detail == "a\u{FFFD}b")
        #expect(try await Self.verify(db).holds)
    }

    @Test("the database refuses to change or delete an entry, and keeps it as written", arguments: StoreKind.tested)
    func appendOnly(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        try await store.ports.append(AuditDraft(actor: "U1", event: "test.kept", detail: "as written"), jobID: nil, notices: [], now: Date())
        for sql in ["UPDATE auditEntry SET detail = 'changed'", "DELETE FROM auditEntry"] {
            do {
                try await store.execute(sql)
                Issue.record("\(sql) was not refused")
            } catch {
                #expect(String(reflecting: error).contains("append-only"), "\(error)")
            }
        }
        if kind == .postgres {
            await #expect(throws: (any Error).self) { try await store.execute("TRUNCATE auditEntry CASCADE") }
        }
        #expect(try await store.strings("SELECT detail FROM auditEntry") == ["as written"])
        #expect(try await Self.verify(store.ports).holds)
    }

    @Test("a checkpoint is recorded once: a second one extending the same checkpoint is refused with its notices", arguments: StoreKind.tested)
    func checkpointsDoNotFork(kind: StoreKind) async throws {
        let store = try await TestStore.make(kind)
        defer { store.close() }
        let db = store.ports
        try await db.append(AuditDraft(actor: "U1", event: "test.one", detail: ""), jobID: nil, notices: [], now: Date())
        let key = AuditSigningKey.generate()
        let head = try #require(try await db.head())
        let first = try Checkpoint.sign(installation: "test", head: head, time: Date(), previous: AuditChain.genesis, key: key)
        let notice = Notice.message(RichText(first.line), jobID: nil, place: .auditChannel)
        #expect(try await db.lastCheckpoint() == nil)
        #expect(try await db.record(StoredCheckpoint(seq: head.seq, line: first.line, previous: first.previous), notices: [notice], now: Date()))
        let rival = try Checkpoint.sign(installation: "test", head: head, time: Date().addingTimeInterval(1), previous: AuditChain.genesis, key: key)
        #expect(!(try await db.record(StoredCheckpoint(seq: head.seq, line: rival.line, previous: rival.previous), notices: [notice], now: Date())))
        #expect(try await db.lastCheckpoint()?.line == first.line)
        #expect(try await db.due(platform: "slack", now: Date(), limit: 10).map(\.notice.plainText) == [first.line])
        // The next one extends the first.
        try await db.append(AuditDraft(actor: "U1", event: "test.two", detail: ""), jobID: nil, notices: [], now: Date())
        let second = try Checkpoint.sign(installation: "test", head: try #require(try await db.head()), time: Date(), previous: first.lineHash, key: key)
        #expect(try await db.record(StoredCheckpoint(seq: second.seq, line: second.line, previous: second.previous), notices: [], now: Date()))
        let verification = try await Self.verify(db, checkpoints: [first, second], key: key.publicKey)
        #expect(verification.problems.isEmpty && verification.checkpointsChecked == 2, "\(verification.problems)")
    }
}
