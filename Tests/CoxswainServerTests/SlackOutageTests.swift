import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// Slack being part of the incident: down, then rate limiting, or the bot not invited.
/// Every job is still heard: nothing of a job is dropped because an earlier message failed.
@Suite("Slack outages", .serialized)
struct SlackOutageTests {
    static let release = "llama-2-7b-production"

    @Test("500s, then 429s with Retry-After: every message of every job arrives once, in order, and 429s are not failures")
    func outageThenRateLimit() async throws {
        try await Harness.run { h in
            await h.world.set(serverErrors: true)
            let ids = [
                try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release))),
                try Harness.jobID(in: try Harness.ephemeralText(try await h.command("llama-2-7b-development", user: "U0456BOB"))),
            ]
            for id in ids { try await Eventually.until("job \(id) to end") { try await h.database.job(id: id)?.state.isFinished == true } }
            try await Eventually.until("a few refused calls") { await h.world.refused.serverErrors >= 4 }
            // Slack comes back, rate limiting: one 429 pauses chat.postMessage for everyone.
            await h.world.set(rateLimitNext: 1, retryAfter: 2, serverErrors: false)
            for id in ids { _ = try await h.waitUntilSettled(job: id) }
            #expect(await h.world.refused.rateLimited == 1)
            let notices = try await h.database.notices()
            #expect(notices.allSatisfy { $0.state == "delivered" || $0.state == "superseded" }, "\(notices.map(\.state))")
            for id in ids {
                let job = try #require(try await h.database.job(id: id))
                let ts = try #require(try await h.liveTS(job))
                let posts = await h.world.posted.filter { $0.threadTS == nil && $0.ts == ts }
                #expect(posts.count == 1)
                // The live message shows the job's final state, and its details follow it in its thread.
                #expect(try await h.liveMessageText(job: job).contains("*Result:*"))
                let thread = await h.world.posted.filter { $0.threadTS == ts }
                #expect(!thread.isEmpty && thread.allSatisfy { $0.ts > ts })
            }
            #expect(await h.world.slackCalls("chat.postMessage").filter { $0.channel == "C0AUDIT" }.count == 2)
        }
    }

    static let approvalAccess = """
        roles:
          prod-deployer: { grants: [rollback], environments: [production] }
          approver: { grants: [approve], environments: [production] }
        members: { U0123ALICE: [prod-deployer], U0789CAROL: [approver] }
        """

    @Test("the bot is not in the channel: the requester is told how to fix it, the approval request goes to the audit channel, the job is heard")
    func notInChannel() async throws {
        try await Harness.run(approvals: 1, access: Self.approvalAccess) { h in
            await h.world.set(notMemberOf: ["C0OPS"])
            let id = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release)))
            let told = try await h.waitForResponse(containing: "cannot post about job #\(id)")
            #expect(told.contains("<#C0OPS>") && told.contains("`not_in_channel`") && told.contains("/invite @coxswain"))
            // The approvers still see the request: in the audit channel.
            let request = try await Eventually.value("the approval request in the audit channel") {
                await h.world.slackCalls("chat.postMessage").first { $0.channel == "C0AUDIT" && $0.text.contains("Approval needed") }
            }
            #expect(request.text.contains("Job #\(id)"))
            _ = try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL")
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded)
            // The requester hears the result although the channel never did.
            _ = try await h.waitForResponse(containing: "Job #\(id) rollback llama-2-7b-production (production, ns production): revision 5 -> 3: succeeded")
            let told_ = await h.world.responseURLCalls().filter { $0.text.contains("cannot post about job #\(id)") }
            #expect(told_.count == 1)  // once per job, not once per message
            #expect(try await h.auditEvents(job: id).contains("delivery.failed"))
        }
    }
}
