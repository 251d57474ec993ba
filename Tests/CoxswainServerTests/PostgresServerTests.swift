import CoxswainCore
import Foundation
import PostgresTestServer
import Testing

/// The whole server on the PostgreSQL store, as on SQLite: Slack's signed requests over real
/// HTTP, the approval by a second person, the runbook with the stand-in helm and kubectl,
/// every message delivered, the audit trail complete.
@Suite("the server on PostgreSQL", .enabled(if: TestPostgres.available, "PostgreSQL is not installed"))
struct PostgresServerTests {
    @Test("a production rollback on PostgreSQL: requested, approved by a second person, run, validated, re-enabled, every message delivered")
    func rollbackWithApproval() async throws {
        try await Harness.run(approvals: 1, access: ApprovalTests.access, postgres: true) { h in
            // On a machine loaded by every other suite, a request may miss the webhook's one-second
            // budget (800 ms); it is then told that nothing was done and to try again, as a person would.
            var trigger = "first"
            var answer = try Harness.ephemeralText(try await h.command(ApprovalTests.release, triggerID: trigger))
            for attempt in 1...60 where answer.contains("Nothing was done; try again") {
                trigger = "attempt-\(attempt)"
                answer = try Harness.ephemeralText(try await h.command(ApprovalTests.release, triggerID: trigger))
            }
            let id = try Harness.jobID(in: answer)
            // Slack's retry of the same request is the same job.
            _ = try await h.command(ApprovalTests.release, triggerID: trigger)
            try await h.waitFor(job: id, state: .awaitingApproval)
            #expect(try await h.database.recentJobs(release: nil, limit: 5).map(\.id) == [id])
            // The click is answered once its approval is durable, or told to try again: so again.
            for _ in 0..<10 where try await h.database.allApprovals(jobID: id).isEmpty {
                #expect(try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL").status == .ok)
            }
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded)
            #expect(
                try ApprovalTests.rollbackCalls(h) == [["helm", "rollback", ApprovalTests.release, "3", "-n", "production", "--wait", "--timeout", "10m0s"]])
            #expect(try await h.registryStatus() == .ready)
            let text = try await h.liveMessageText(job: job)
            #expect(text.hasPrefix("✅ *Job #\(id)*") && text.contains("helm recorded it as revision 6"), "\(text)")
            let events = try await h.auditEvents(job: id)
            for event in ["job.requested", "approval.requested", "approval.approve", "registry.disable", "registry.enable", "job.succeeded"] {
                #expect(events.contains(event), "missing \(event) in \(events)")
            }
            #expect(try await h.database.pending(platform: "slack").count == 0)
        }
    }
}
