import CoxswainChat
import CoxswainCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Mattermost beside Slack, against the fake Mattermost server (REST API v4, response URLs):
/// commands proven by their token, buttons by their signed context, the live message edited
/// in place, details in its thread.
@Suite("Mattermost")
struct MattermostTests {
    static let release = RollbackEndToEndTests.release
    static let access = """
        roles:
          deployer: { grants: [rollback, cancel], environments: [development, production] }
          approver: { grants: [approve], environments: [production] }
        members: { "mattermost:alice": [deployer], "mattermost:carol": [approver], U0789CAROL: [approver] }
        """
    static let channels = ["C0OPS", "mattermost:\(Harness.mattermostOps)"]

    @Test("a production rollback asked in Mattermost, approved with a second user's button, run, its live message edited to the result")
    func rollbackApprovedByButton() async throws {
        try await Harness.run(approvals: 1, access: Self.access, channels: Self.channels, mattermost: true) { h in
            let answer = try Harness.mattermostAnswer(try await h.mattermostCommand("\(Self.release) pods OOM"))
            let id = try Harness.jobID(in: answer)
            try await h.waitFor(job: id, state: .awaitingApproval)
            let mattermost = h.world.mattermost
            let request = try await Eventually.value("the approval request in Mattermost") {
                await mattermost.posts(in: Harness.mattermostOps).first { $0.message.contains("Approval needed") && $0.props["attachments"] != nil }
            }
            #expect(request.message.contains("@carol"), "the approver is mentioned: \(request.message)")
            // Not by the requester.
            let own = try Harness.mattermostAnswer(try await h.mattermostClick(request, action: "approve", user: "alice"))
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval, "\(own)")
            let approved = try Harness.mattermostAnswer(try await h.mattermostClick(request, action: "approve", user: "carol"))
            #expect(approved.contains("approved"), "\(approved)")
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            #expect(job.request.requestedBy == "mattermost:alice" && job.approvals.first?.user == "mattermost:carol")
            let live = try await Eventually.value("the live message edited to the result") {
                await mattermost.posts(in: Harness.mattermostOps).first { $0.message.contains("**Job #\(id)**") && $0.message.contains("**Result:**") }
            }
            #expect(live.edits > 0 && live.message.contains("✅ Helm rollback"), "\(live.message)")
            #expect(await mattermost.posts(in: Harness.mattermostOps).contains { $0.rootID == live.id }, "details are replies in its thread")
            #expect(try await h.auditEvents(job: id).contains("job.requested"))
            let requested = try await h.database.entries(jobID: id).first { $0.event == "job.requested" }
            #expect(requested?.actor == "mattermost:alice" && requested?.detail.contains("mattermost:\(Harness.mattermostOps)") == true)
        }
    }

    @Test("a forged command token and a forged button context get 401 and change nothing")
    func forgeriesRefused() async throws {
        try await Harness.run(approvals: 1, access: Self.access, channels: Self.channels, mattermost: true) { h in
            let before = try await h.database.tail(limit: 100).count
            #expect(try await h.mattermostCommand(Self.release, token: "not-the-token").status == .unauthorized)
            #expect(try await h.mattermostCommand(Self.release, token: nil).status == .unauthorized)
            #expect(try await h.database.tail(limit: 100).count == before, "a forged request leaves no trace but a log line")
            let id = try Harness.jobID(in: try Harness.mattermostAnswer(try await h.mattermostCommand(Self.release)))
            try await h.waitFor(job: id, state: .awaitingApproval)
            let mattermost = h.world.mattermost
            let request = try await Eventually.value("the approval request") {
                await mattermost.posts(in: Harness.mattermostOps).first { $0.props["attachments"] != nil }
            }
            // The right action and value, but a signature of its own: refused.
            let forged = ["action": "approve", "value": "\(id):5->3", "sig": String(repeating: "ab", count: 32)]
            #expect(try await h.mattermostClick(request, action: "approve", user: "carol", context: forged).status == .unauthorized)
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)
        }
    }

    @Test("Mattermost down (503) while a job runs, then rate-limiting (429): afterwards every message is delivered once, in order")
    func outageThenRateLimit() async throws {
        try await Harness.run(access: Self.access, channels: Self.channels, mattermost: true) { h in
            let mattermost = h.world.mattermost
            await mattermost.set(down: true)
            let id = try Harness.jobID(in: try Harness.mattermostAnswer(try await h.mattermostCommand(Self.release)))
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            #expect(await mattermost.posts.isEmpty)
            try await Eventually.until("the notifier met the outage") { await mattermost.refused.down >= 2 }
            await mattermost.set(down: false, rateLimitNext: 3)
            let live = try await Eventually.value("the live message at its result", timeout: .seconds(90)) {
                await mattermost.posts(in: Harness.mattermostOps).first { $0.rootID == nil && $0.message.contains("**Result:**") }
            }
            #expect(live.message.contains("**Job #\(id)**"))
            let replies = await mattermost.posts(in: Harness.mattermostOps).filter { $0.rootID == live.id }.map { $0.message }
            let titles = replies.compactMap { $0.split(separator: ":").first.map { $0.replacingOccurrences(of: "**", with: "") } }
            let order = ["Show release history", "Check GPU capacity", "Helm rollback", "Wait for pods", "Health endpoints", "Served model", "Completion test"]
            #expect(titles.filter(order.contains) == order.filter(titles.contains) && titles.count == Set(replies).count, "in order, once: \(titles)")
            let notices = await mattermost.posts.compactMap { $0.props["coxswain_notice"] as? String }
            #expect(notices.count == Set(notices).count, "no notice posted twice: \(notices)")
            let refused = await mattermost.refused
            #expect(refused.down >= 2 && refused.rateLimited == 3, "\(refused)")
        }
    }

    @Test("a job asked in Mattermost is approved from the console by a Mattermost user; Mattermost hears it")
    func approvedFromTheConsole() async throws {
        let channels = Self.channels + ["console"]
        try await Harness.run(approvals: 1, access: Self.access, channels: channels, mattermost: true) { h in
            let id = try Harness.jobID(in: try Harness.mattermostAnswer(try await h.mattermostCommand(Self.release)))
            try await h.waitFor(job: id, state: .awaitingApproval)
            let token = ConsoleTokens.generate()
            _ = try await h.dependencies.stores.tokens.saveToken(
                user: "mattermost:carol", digest: ConsoleTokens.digest(token), expiresAt: Date().addingTimeInterval(600), issuedBy: "test", now: Date())
            let port = try await Eventually.value("the operators' listener") { h.operatorPort }
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/api/v1/console/commands")))
            request.httpMethod = "POST"
            request.setValue("mattermost:carol", forHTTPHeaderField: "X-Coxswain-User")
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(#"{"text": "approve \#(id)"}"#.utf8)
            let (body, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded && job.approvals.first?.user == "mattermost:carol", "\(job.outcome ?? "")")
            let mattermost = h.world.mattermost
            _ = try await Eventually.value("Mattermost hears the approval") {
                await mattermost.posts(in: Harness.mattermostOps).first { $0.message.contains("**Approved** by @carol") }
            }
        }
    }
}

