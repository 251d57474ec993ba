import CoxswainChat
import CoxswainServer
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

    @Test("break-glass asked in Mattermost: no approval, told in the audit channel with Acknowledge, acknowledged there by an approver's button")
    func breakGlassAcknowledged() async throws {
        let access = Self.access
            .replacingOccurrences(of: "approver: { grants: [approve], environments: [production] }", with: """
                approver: { grants: [approve], environments: [production] }
                  oncall: { grants: [emergency], environments: [production] }
                """)
            .replacingOccurrences(of: "\"mattermost:alice\": [deployer]", with: "\"mattermost:alice\": [deployer, oncall]")
        try await Harness.run(approvals: 1, access: access, channels: Self.channels, mattermost: true) { h in
            let id = try Harness.jobID(in: try Harness.mattermostAnswer(try await h.mattermostCommand("\(Self.release) --emergency error rate 40%")))
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded && job.approvals.isEmpty, "\(job.outcome ?? "")")
            let mattermost = h.world.mattermost
            let notice = try await Eventually.value("the break-glass notice in the audit channel") {
                await mattermost.posts(in: Harness.mattermostAudit).first { $0.message.contains("**BREAK-GLASS**") && $0.props["attachments"] != nil }
            }
            #expect(notice.message.contains("by @alice without approval. Reason: error rate 40%"), "\(notice.message)")
            let answer = try Harness.mattermostAnswer(try await h.mattermostClick(notice, action: "acknowledge", user: "carol"))
            let acknowledged = try await h.waitFor(job: id, "acknowledged") { $0.acknowledgedBy != nil }
            #expect(acknowledged.acknowledgedBy == "mattermost:carol", "\(answer)")
            #expect(try await h.auditEvents(job: id).contains("emergency.acknowledged"))
        }
    }

    @Test("Mattermost alone (no slack: in the configuration, no Slack secrets): jobs run and are told there; Slack's routes are not served")
    func withoutSlack() async throws {
        try await Harness.run(
            configuration: { port in
                Harness.configurationYAML(fakePort: port, completionSLO: nil, approvals: 0, access: Self.access, channels: Self.channels)
                    .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("slack:") }.joined(separator: "\n")
            },
            mattermost: true
        ) { h in
            #expect(!h.dependencies.configuration.slackEnabled)
            let id = try Harness.jobID(in: try Harness.mattermostAnswer(try await h.mattermostCommand(Self.release)))
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            let mattermost = h.world.mattermost
            _ = try await Eventually.value("the live message at its result") {
                await mattermost.posts(in: Harness.mattermostOps).first { $0.message.contains("**Job #\(id)**") && $0.message.contains("**Result:**") }
            }
            #expect(try await h.command(Self.release).status == .notFound)
            #expect(await h.world.received.filter { $0.path.hasPrefix("/api/") }.isEmpty, "nothing was sent to Slack")
            #expect(try await h.dependencies.stores.outbox.pending(platform: "slack").count == 0, "no copy is kept for a Slack that is not there")
        }
    }

    @Test("coxswain doctor: the Mattermost token works, and a channel the bot is not in is named with the fix")
    func doctor() async throws {
        try await Harness.run(access: Self.access, channels: Self.channels, mattermost: true) { h in
            await h.world.mattermost.set(notMemberOf: [Harness.mattermostOps])
            let checks = await Doctor(dependencies: h.dependencies).run()
            let token = try #require(checks.first { $0.name == "mattermost" })
            #expect(token.ok && token.detail == "token works: the bot is @coxswain, 2 command token(s)", "\(token.line)")
            #expect(checks.first { $0.name == "mattermost channel \(Harness.mattermostAudit)" }?.ok == true)
            let ops = try #require(checks.first { $0.name == "mattermost channel \(Harness.mattermostOps)" })
            #expect(!ops.ok && ops.detail.contains("not a member (environments.production.channels)"), "\(ops.line)")
            #expect(!checks.contains { $0.name.hasPrefix("channel mattermost:") }, "Slack's check leaves Mattermost channels alone")
        }
    }

    @Test("Mattermost down for a minute after a job's messages were written: once it is back, every one is delivered, once, in order")
    func downForAMinute() async throws {
        let clock = TestClock()
        // The server's clock jumps ahead here; a lease longer than the jumps keeps this server the sender.
        try await Harness.run(access: Self.access, clock: clock, channels: Self.channels, mattermost: true, leaseDuration: .seconds(3600)) { h in
            let mattermost = h.world.mattermost, outbox = h.dependencies.stores.outbox
            await mattermost.set(down: true)
            let id = try Harness.jobID(in: try Harness.mattermostAnswer(try await h.mattermostCommand(Self.release)))
            #expect(try await h.waitUntilSettled(job: id).state == .succeeded)
            /// Moves the server's clock to when the next message falls due and waits until the notifier tried it.
            func untilNextAttempt() async throws {
                if let next = try await outbox.nextDue(platform: "mattermost"), next > clock.now { clock.advance(by: next.timeIntervalSince(clock.now) + 0.01) }
                try await Eventually.until("the notifier to have tried what fell due") {
                    try await outbox.nextDue(platform: "mattermost").map { $0 > clock.now } ?? true
                }
            }
            let start = clock.now
            while clock.now.timeIntervalSince(start) < 60 { try await untilNextAttempt() }
            #expect(await mattermost.posts.isEmpty)
            let refused = await mattermost.refused.down
            #expect(refused >= 6, "retried through the minute, backing off: \(refused) attempts")
            await mattermost.set(down: false)
            for _ in 0..<40 {
                if try await outbox.pending(platform: "mattermost").count == 0 { break }
                try await untilNextAttempt()
            }
            #expect(try await outbox.pending(platform: "mattermost").count == 0)
            let live = try #require(await mattermost.posts(in: Harness.mattermostOps).first { $0.rootID == nil && $0.message.contains("**Job #\(id)**") })
            #expect(live.message.contains("**Result:** rolled back"), "\(live.message)")
            let replies = await mattermost.posts(in: Harness.mattermostOps).filter { $0.rootID == live.id }
            let order = ["Show release history", "Check GPU capacity", "Helm rollback", "Wait for pods", "Health endpoints", "Served model", "Completion test"]
            let titles = replies.map { String($0.message.dropFirst(2).prefix { $0 != ":" }) }
            #expect(titles == order, "in order, once: \(titles)")
            let notices = await mattermost.posts.compactMap { $0.props["coxswain_notice"] as? String }
            #expect(notices.count == Set(notices).count, "no notice posted twice")
        }
    }

    @Test("a channel that refuses the bot: audited, and the requester told once, through the command's response URL")
    func channelRefusesTheBot() async throws {
        try await Harness.run(access: Self.access, channels: Self.channels, mattermost: true) { h in
            let mattermost = h.world.mattermost
            await mattermost.set(notMemberOf: [Harness.mattermostOps])
            let id = try Harness.jobID(in: try Harness.mattermostAnswer(try await h.mattermostCommand(Self.release)))
            #expect(try await h.waitUntilSettled(job: id).state == .succeeded)
            let told = try await Eventually.value("the requester told") { await mattermost.responses.filter { $0.contains("cannot post about job #\(id)") } }
            #expect(told.count == 1 && told[0].contains("api.context.permissions.app_error"), "\(told)")
            let failed = try await h.database.entries(jobID: id).filter { $0.event == "delivery.failed" && $0.detail.hasPrefix("mattermost ") }
            #expect(!failed.isEmpty)
            try await Eventually.until("the result reaches the requester too") {
                await mattermost.responses.contains { $0.contains("Job #\(id)") && $0.contains("succeeded") }
            }
        }
    }
}

