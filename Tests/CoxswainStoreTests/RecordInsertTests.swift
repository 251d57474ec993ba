import CoxswainCore
@testable import CoxswainStore
import Foundation
import GRDB
import Testing

/// The hot path's prepared inserts write what GRDB's record inserts write, column for column.
@Suite struct RecordInsertTests {
    static func jobs() -> [Job] {
        // Dates as the store keeps them (to the millisecond), so what is read back is equal.
        func at(_ offset: Double = 0) -> Date { Date(timeIntervalSince1970: 1_790_000_000.123 + offset).asStored }
        let plan = RollbackPlan(
            from: HelmRevision(revision: 5, status: "deployed", chart: "vllm-0.2.0", appVersion: "0.2.0"),
            to: HelmRevision(revision: 3, status: "superseded", chart: "vllm-0.1.0", appVersion: "0.1.0"))
        let everything = Job(
            id: 7, version: 3,
            request: JobRequest(
                kind: .upgrade, command: "/upgrade", release: "llama-2-7b-production", environment: "production", namespace: "prod",
                model: "llama-2-7b", requestedBy: "U0123ALICE", channel: "C1", platform: "slack", revision: 3, version: "0.3.0",
                reason: "pods OOM", emergency: false, overridePromotion: true),
            state: .awaitingApproval, plan: plan, basisRevision: 5, approvalsRequired: 2, approvalRound: 1, lastCompletedStep: "History",
            outcome: "waiting", createdAt: at(), startedAt: at(1), finishedAt: at(2),
            waitingSince: at(3), cancelRequestedBy: "U2", acknowledgedBy: "U3", acknowledgedAt: at(4),
            lastReminderAt: at(5), runnerID: "server-1")
        let emergency = Job(
            id: 8,
            request: JobRequest(
                kind: .rollback, command: "/rollback", release: "r", environment: "e", namespace: "n", model: "m", requestedBy: "U1",
                channel: "", platform: "console", emergency: true),
            createdAt: at())
        return [everything, emergency]
    }

    @Test("a job row and an audit row, inserted by the prepared statements and by GRDB's record insert, are the same")
    func sameColumns() throws {
        let prepared = try AppDatabase.inMemory(), recorded = try AppDatabase.inMemory()
        for job in Self.jobs() {
            var one = JobRow(job), other = JobRow(job)
            try prepared.writer.write { try one.insertPrepared($0) }
            try recorded.writer.write { try other.insert($0) }
            #expect(one.id == job.id && other.id == job.id)
            let seq = job.id ?? 0
            var audit = AuditRow(id: nil, seq: seq, at: job.createdAt, jobID: job.id, actor: "U1", event: "job.requested", detail: "d", hash: "h\(seq)")
            var same = audit
            try prepared.writer.write { try audit.insertPrepared($0) }
            try recorded.writer.write { try same.insert($0) }
            #expect(audit.id == same.id && audit.id != nil)
        }
        for table in ["job", "auditEntry"] {
            let left = try prepared.writer.read { try Row.fetchAll($0, sql: "SELECT * FROM \(table) ORDER BY id") }
            let right = try recorded.writer.read { try Row.fetchAll($0, sql: "SELECT * FROM \(table) ORDER BY id") }
            #expect(left.count == 2 && left == right, "\(table)")
        }
        // And they read back as what was written.
        let read = try prepared.writer.read { db in try Self.jobs().map { try AppDatabase.loadJob(id: $0.id, db) } }
        #expect(read == Self.jobs().map { Optional($0) })
    }
}
