import CoxswainAudit
import CoxswainCore
import Foundation
import Testing

/// The chain's encoding against vectors computed by Benchmarks/support/audit_chain.py (a second
/// implementation), and what the verifier says about entries and checkpoints it is given.
@Suite struct AuditVerificationTests {
    @Test("the hash matches the independent Python implementation, UTF-8, a job id, none, and a time before 1970")
    func knownVectors() {
        let first = AuditChain.hash(
            seq: 1, atMilliseconds: 1_764_928_800_250, jobID: 7, actor: "U0123ALICE", event: "job.requested", detail: "naïve 🚀",
            previous: AuditChain.genesis)
        #expect(first == "cd235f6d25cbf1ec5cc369d451553ba57fbfc7f1d51ce237056d0f13c497457e")
        let second = AuditChain.hash(seq: 2, atMilliseconds: -1, jobID: nil, actor: "", event: "e", detail: "", previous: first)
        #expect(second == "ddf116740f55d0fdc6cd769019e48d7392798fd495c166a7d2a6f51ec1b8d8d7")
    }

    static func chain(_ count: Int) -> [AuditEntry] {
        var previous = AuditChain.genesis
        return (1...count).map { n in
            var entry = AuditEntry(
                id: Int64(n), seq: Int64(n), at: Date(timeIntervalSince1970: 1_764_928_800 + Double(n) * 1.001), jobID: n % 2 == 0 ? Int64(n) : nil,
                actor: "U\(n)", event: "test.\(n)", detail: "", hash: "")
            entry.hash = AuditChain.hash(of: entry, previous: previous)
            previous = entry.hash
            return entry
        }
    }

    static func checkpoints(_ entries: [AuditEntry], at places: [Int], key: AuditSigningKey, installation: String = "test") throws -> [Checkpoint] {
        var previous = AuditChain.genesis
        return try places.map { place in
            let entry = entries[place - 1]
            let checkpoint = try Checkpoint.sign(
                installation: installation, head: AuditHead(seq: entry.seq, hash: entry.hash), time: entry.at, previous: previous, key: key)
            previous = checkpoint.lineHash
            return checkpoint
        }
    }

    static func verify(_ entries: [AuditEntry], _ checkpoints: [Checkpoint] = [], key: AuditPublicKey? = nil) -> [AuditVerification.Problem] {
        var verification = AuditVerification(checkpoints: checkpoints, publicKey: key)
        entries.forEach { verification.add($0) }
        verification.finish()
        return verification.problems
    }

    @Test("checkpoints among themselves: one removed from the middle, another installation's, a line that does not parse")
    func checkpointSequence() throws {
        let key = AuditSigningKey.generate()
        let entries = Self.chain(12)
        let published = try Self.checkpoints(entries, at: [4, 8, 12], key: key)
        #expect(Self.verify(entries, published, key: key.publicKey).isEmpty)
        #expect(Self.verify(entries, [published[0], published[2]], key: key.publicKey) == [.notExtending(checkpoint: 2, seq: 12)])
        let other = try Self.checkpoints(entries, at: [4, 8], key: key, installation: "elsewhere")
        let mixed = Self.verify(entries, [published[0], other[1]], key: key.publicKey)
        #expect(mixed.contains(.otherInstallation(checkpoint: 2, installation: "elsewhere", expected: "test")))
        // Parsed back from the line, inside a chat message's code span, it is the same checkpoint.
        #expect(try Checkpoint.parse("`\(published[1].line)`").get() == published[1])
        #expect(Checkpoint.parse("coxswain-checkpoint v1 test 0 x").failureDescription?.contains("6 fields") == true)
        #expect(Checkpoint.parse("hello").failureDescription?.contains("not a checkpoint line") == true)
        let badTime = published[0].line.replacingOccurrences(of: "T", with: " ", options: [], range: nil)
        #expect(Checkpoint.parse(badTime).failureDescription != nil)
    }

    @Test("entries out of order (an edited export) and missing from the start are named")
    func order() {
        let entries = Self.chain(6)
        #expect(Self.verify([entries[0], entries[2], entries[1]] + entries[3...]).contains(.outOfOrder(seq: 2, after: 3)))
        #expect(Self.verify(Array(entries.dropFirst(2))) == [.missing(from: 1, to: 2)])
    }

    @Test("an export's times keep their milliseconds, and a line reads back as the entry it was")
    func exportRoundTrip() throws {
        let encoder = AuditExport.encoder(), decoder = AuditExport.decoder()
        for milliseconds in [1_764_928_800_999, 1_764_928_800_001, 1_764_928_800_000, -1_500] as [Int64] {
            var entry = Self.chain(1)[0]
            entry.at = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let line = try AuditExport.line(entry, encoder: encoder)
            let back = try decoder.decode(AuditEntry.self, from: Data(line.utf8))
            #expect(AuditChain.milliseconds(back.at) == milliseconds, "\(line)")
        }
        // Times an edited export could carry are refused, not trapped on.
        for bad in ["Z", "", ".Z", "2026-12-05T09:00:00.5Z", "2026-12-05T09:00:00.abcZ", "yesterday"] {
            #expect(throws: (any Error).self) { try decoder.decode(Date.self, from: Data("\"\(bad)\"".utf8)) }
        }
    }
}

extension Result {
    fileprivate var failureDescription: String? {
        if case .failure(let error) = self { "\(error)" } else { nil }
    }
}
