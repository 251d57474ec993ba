import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// Who may do what, where; two-person approval for production; cancel; break-glass.
/// Over real HTTP, signed as Slack signs, as in the /rollback tests.
@Suite("roles, approvals, cancel, break-glass", .serialized)
struct ApprovalTests {
    static let release = "llama-2-7b-production"
    static let access = """
        roles:
          prod-deployer: { grants: [rollback, cancel], environments: [development, production] }
          deployer: { grants: [rollback], environments: [development] }
          approver: { grants: [approve, cancel], environments: [production] }
          oncall: { grants: [emergency], environments: [production] }
        members:
          U0123ALICE: [prod-deployer, approver, oncall]
          U0456BOB: [deployer]
          U0789CAROL: [approver]
          U0999DAVE: [approver]
        """

    static func rollbackCalls(_ h: Harness) throws -> [[String]] { try h.cluster.calls().filter { $0.prefix(2) == ["helm", "rollback"] } }

    /// Alice asks; the job plans and waits for approval.
    static func requestAndWait(_ h: Harness, _ text: String = release) async throws -> Int64 {
        let ack = try Harness.ephemeralText(try await h.command(text))
        #expect(ack.contains("needs"))
        let id = try Harness.jobID(in: ack)
        try await h.waitFor(job: id, state: .awaitingApproval)
        return id
    }

    @Test("a user without a role for the environment is refused and nothing is stored but the refusal")
    func unauthorisedUser() async throws {
        try await Harness.run(approvals: 1, access: Self.access) { h in
            let text = try Harness.ephemeralText(try await h.command(Self.release, user: "U0456BOB"))
            #expect(text.contains("may not rollback in `production`"))
            #expect(text.contains("Who may: prod-deployer (<@U0123ALICE>)"))
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
            #expect(try await h.database.tail(limit: 5).map(\.detail) == ["/rollback \(Self.release): no role of U0456BOB grants rollback in production"])
        }
    }

    @Test("a production command from a channel production does not accept is refused with the allowed channels")
    func wrongChannel() async throws {
        try await Harness.run(approvals: 1, access: Self.access, channels: ["C0OPS", "C0INCIDENT"]) { h in
            let text = try Harness.ephemeralText(try await h.command(Self.release, channel: "C0RANDOM"))
            #expect(text.contains("accepted only from <#C0OPS>, <#C0INCIDENT>"))
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
            #expect(try await h.database.tail(limit: 1).first?.detail.contains("environments.production.channels excludes C0RANDOM") == true)
        }
    }

    @Test("the requester and non-approvers cannot approve; an approver's click runs the approved plan")
    func approvalFlow() async throws {
        try await Harness.run(approvals: 1, access: Self.access) { h in
            let id = try await Self.requestAndWait(h)
            #expect(try h.cluster.calls() == [RollbackEndToEndTests.history] + RollbackEndToEndTests.capacityReads())  // planned, nothing touched
            #expect(try await h.registryStatus() == .ready)
            let request = try #require(await h.world.slackCalls("chat.postMessage").first { $0.text.contains("Approval needed") })
            #expect(request.text.contains("Job #\(id)"))
            #expect(request.text.contains("revision 5 -> 3"))
            #expect(request.text.contains("<@U0123ALICE>") && request.text.contains("<@U0789CAROL>") && request.text.contains("<@U0999DAVE>"))
            let blocks = try #require(request.json["blocks"] as? [any Sendable])
            let actions = try #require(blocks.compactMap { $0 as? [String: any Sendable] }.first { $0["type"] as? String == "actions" })
            let buttons = try #require(actions["elements"] as? [any Sendable]).compactMap { $0 as? [String: any Sendable] }
            #expect(buttons.map { $0["action_id"] as? String } == ["approve", "deny"])
            #expect(buttons.allSatisfy { $0["value"] as? String == "\(id):5->3" })
            #expect(buttons[0]["confirm"] != nil)

            let own = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve"))
            #expect(own.contains("You requested job #\(id)"))
            let bob = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0456BOB"))
            #expect(bob.contains("may not approve in `production`"))
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)

            #expect(try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL").status == .ok)
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded)
            #expect(try Self.rollbackCalls(h) == [["helm", "rollback", Self.release, "3", "-n", "production", "--wait", "--timeout", "10m0s"]])
            let approvalTS = try await h.database.reference(jobID: id, role: "approval:1")?.ts
            let updates = await h.world.slackCalls("chat.update").filter { $0.ts == approvalTS }
            #expect(updates.last?.text.contains("*Approved* by <@U0789CAROL>") == true)
            #expect(await h.world.responseURLCalls().contains { $0.text.contains("Job #\(id) is approved and runs now") })
            let events = try await h.auditEvents(job: id)
            for event in ["approval.requested", "approval.refused", "access.refused", "approval.approve", "job.approved", "approval.verified", "job.succeeded"]
            {
                #expect(events.contains(event), "missing \(event) in \(events)")
            }
            #expect(events.firstIndex(of: "approval.verified")! < events.firstIndex(of: "registry.disable")!)
        }
    }

    @Test("when two approvals are needed, one person counts once and two people run it")
    func twoDistinctApprovals() async throws {
        try await Harness.run(approvals: 2, access: Self.access) { h in
            let id = try await Self.requestAndWait(h)
            let first = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0789CAROL"))
            #expect(first.contains("recorded (1 of 2)"))
            let twice = try Harness.ephemeralText(try await h.command("#\(id)", command: "/approve", user: "U0789CAROL"))
            #expect(twice.contains("each person counts once"))
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)
            #expect(try Self.rollbackCalls(h).isEmpty)
            let second = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0999DAVE"))
            #expect(second.contains("approved and runs now"))
            #expect(try await h.waitUntilSettled(job: id).state == .succeeded)
            #expect(try await h.database.allApprovals(jobID: id).map(\.user) == ["U0789CAROL", "U0999DAVE"])
        }
    }

    @Test("deny closes the job with the reason; nothing runs")
    func deny() async throws {
        try await Harness.run(approvals: 1, access: Self.access) { h in
            let id = try await Self.requestAndWait(h)
            let text = try Harness.ephemeralText(try await h.command("\(id) error rate is fine now", command: "/deny", user: "U0789CAROL"))
            #expect(text.contains("denied"))
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .denied)
            #expect(job.outcome == "denied by U0789CAROL: error rate is fine now")
            #expect(try await h.liveMessageText(job: job).contains("denied by <@U0789CAROL>: error rate is fine now"))
            #expect(try Self.rollbackCalls(h).isEmpty)
            #expect(try await h.registryStatus() == .ready)
            let again = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0999DAVE"))
            #expect(again.contains("it is denied"))
        }
    }

    @Test("an unapproved request expires after its TTL and can no longer be approved")
    func expiry() async throws {
        let clock = TestClock()
        try await Harness.run(approvals: 1, access: Self.access, clock: clock) { h in
            let id = try await Self.requestAndWait(h)
            clock.advance(by: 29 * 60)
            // Each worker pass looks at expiry before it claims: once a job asked for after
            // the clock moved has finished, at least one pass has seen 29 minutes pass.
            let later = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("llama-2-7b-development", user: "U0456BOB")))
            _ = try await Eventually.value("job #\(later) to finish") { try await h.database.job(id: later).flatMap { $0.state.isFinished ? $0 : nil } }
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)
            clock.advance(by: 2 * 60)
            let job = try await h.waitFor(job: id, state: .expired)
            #expect(job.outcome?.contains("no approval within 30m0s") == true)
            let approvalTS = try await h.database.reference(jobID: id, role: "approval:1")?.ts
            let updates = await h.world.slackCalls("chat.update").filter { $0.ts == approvalTS }
            #expect(updates.last?.text.contains("*Expired*") == true)
            let late = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0789CAROL"))
            #expect(late.contains("it is expired"))
            #expect(try Self.rollbackCalls(h).isEmpty)
            #expect(try await h.auditEvents(job: id).contains("job.expired"))
        }
    }

    @Test("cancel before start ends the job; an approval after that changes nothing")
    func cancelBeforeStart() async throws {
        try await Harness.run(approvals: 1, access: Self.access) { h in
            let id = try await Self.requestAndWait(h)
            let bob = try Harness.ephemeralText(try await h.command("\(id)", command: "/cancel", user: "U0456BOB"))
            #expect(bob.contains("may not cancel in `production`"))
            let text = try Harness.ephemeralText(try await h.command("\(id)", command: "/cancel"))
            #expect(text.contains("cancelled; nothing ran"))
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .cancelled)
            // A click is decided before its answer: nothing can change after it.
            #expect(try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL").status == .ok)
            #expect(try await h.database.job(id: id)?.state == .cancelled)
            #expect(try Self.rollbackCalls(h).isEmpty)
        }
    }

    @Test("cancel during a run stops between steps and says what state it left")
    func cancelBetweenSteps() async throws {
        try await Harness.run(approvals: 0, access: Self.access) { h in
            await h.world.set(completionDelay: .milliseconds(1500))
            let id = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release)))
            try await Eventually.until("the completion step to start") { try await h.database.steps(jobID: id).last?.action == "probe.completion" }
            let text = try Harness.ephemeralText(try await h.command("\(id)", command: "/cancel"))
            #expect(text.contains("stops before its next step"))
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .cancelled)
            let live = try await h.liveMessageText(job: job)
            #expect(live.contains("cancelled by <@U0123ALICE> after step “Completion test”"))
            #expect(live.contains("rolled back to revision 3"))
            #expect(live.contains("`llama-2-7b` stays *disabled* in production"))
            #expect(try await h.registryStatus() == .disabled)
            #expect(!(try h.cluster.calls().contains { $0.prefix(2) == ["helm", "status"] }))
        }
    }

    @Test("the release moved since the request: the requester confirms the new plan, and approvals of the old plan no longer count")
    func planChangedAfterApproval() async throws {
        try await Harness.run(approvals: 1, access: Self.access) { h in
            let id = try await Self.requestAndWait(h)
            // Someone else deploys revision 6 before the approval arrives.
            try h.cluster.change { state in
                var releases = state["releases"] as! [String: Any]
                var release = releases[Self.release] as! [String: Any]
                var revisions = (release["revisions"] as! [[String: Any]]).map { r -> [String: Any] in
                    var r = r; if r["status"] as? String == "deployed" { r["status"] = "superseded" }; return r
                }
                revisions.append(StandInCluster.revision(6, "deployed", chart: "vllm-deployment-0.3.1", app: "0.5.2"))
                release["revisions"] = revisions
                releases[Self.release] = release
                state["releases"] = releases
            }
            _ = try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL")
            // The approved job reads the history again, sees revision 6, and does not plan on its own.
            var job = try await h.waitFor(job: id, state: .awaitingConfirmation)
            #expect(job.plan?.key == "6->5")
            #expect(try Self.rollbackCalls(h).isEmpty)
            let confirmation = try #require(await h.world.slackCalls("chat.postMessage").last { $0.text.contains("Please confirm") })
            #expect(confirmation.text.contains("moved from revision 5 to 6 since you asked (not by Coxswain)"))
            #expect(confirmation.text.contains("/confirm \(id)"))
            // Only the requester (or an approver) confirms.
            _ = try await h.command("\(id)", command: "/confirm", user: "U0123ALICE")
            job = try await h.waitFor(job: id, state: .awaitingApproval)
            #expect(job.plan?.key == "6->5")
            #expect(try await h.auditEvents(job: id).contains("approval.void"))
            let requests = await h.world.slackCalls("chat.postMessage").filter { $0.text.contains("Approval needed") }
            #expect(requests.count == 2)
            #expect(requests.last?.text.contains("The plan changed since it was approved (5->3 → 6->5)") == true)
            // The old button no longer counts; the new plan's does.
            let outdated = try await h.click("approve", value: "\(id):5->3", user: "U0999DAVE")
            #expect(outdated.status == .ok)
            _ = try await h.waitForResponse(containing: "outdated")
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)
            _ = try await h.click("approve", value: "\(id):6->5", user: "U0999DAVE")
            #expect(try await h.waitUntilSettled(job: id).state == .succeeded)
            #expect(try Self.rollbackCalls(h) == [["helm", "rollback", Self.release, "5", "-n", "production", "--wait", "--timeout", "10m0s"]])
        }
    }

    @Test("break-glass: on-call rolls back at once without waiting in helm, the audit channel is told, an approver acknowledges")
    func breakGlass() async throws {
        let clock = TestClock()
        try await Harness.run(approvals: 1, access: Self.access, clock: clock) { h in
            let noReason = try Harness.ephemeralText(try await h.command("\(Self.release) --emergency"))
            #expect(noReason.contains("needs a reason"))
            let carol = try Harness.ephemeralText(try await h.command("\(Self.release) --emergency pods OOM", user: "U0789CAROL"))
            #expect(carol.contains("may not emergency in `production`"))
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)

            let ack = try Harness.ephemeralText(try await h.command("\(Self.release) --emergency pods OOM, error rate 40%"))
            #expect(ack.contains("Break-glass"))
            let id = try Harness.jobID(in: ack)
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded)
            #expect(job.request.reason == "pods OOM, error rate 40%")
            #expect(try Self.rollbackCalls(h) == [["helm", "rollback", Self.release, "3", "-n", "production"]])
            let notices = await h.world.slackCalls("chat.postMessage").filter { $0.channel == "C0AUDIT" }
            #expect(notices.first?.text.contains("BREAK-GLASS") == true)
            #expect(try await h.database.unacknowledgedEmergencies().map(\.id) == [id])

            clock.advance(by: 4 * 3600 + 1)
            try await Eventually.until("the reminder") {
                await h.world.slackCalls("chat.postMessage").contains { $0.text.contains("Reminder: break-glass job #\(id)") }
            }

            let own = try Harness.ephemeralText(try await h.command("\(id)", command: "/ack"))
            #expect(own.contains("another approver must acknowledge"))
            #expect(try await h.click("acknowledge", value: "\(id)", user: "U0789CAROL").status == .ok)
            #expect(try await h.database.job(id: id)?.acknowledgedBy == "U0789CAROL")
            #expect(try await h.database.unacknowledgedEmergencies().isEmpty)
            #expect(try await h.auditEvents(job: id).contains("emergency.acknowledged"))
        }
    }

    @Test("a role can come from a Slack user group, read through usergroups.users.list")
    func approverFromUserGroup() async throws {
        let access = Self.access.replacingOccurrences(
            of: "approver: { grants: [approve, cancel], environments: [production] }",
            with: "approver: { grants: [approve, cancel], environments: [production], usergroups: [S0APPROVERS] }")
        try await Harness.run(approvals: 1, access: access, userGroups: ["S0APPROVERS": ["U0777EVE"]]) { h in
            let id = try await Self.requestAndWait(h)
            let request = try #require(await h.world.slackCalls("chat.postMessage").first { $0.text.contains("Approval needed") })
            #expect(request.text.contains("<!subteam^S0APPROVERS>"))
            let refused = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0666MALLORY"))
            #expect(refused.contains("may not approve"))
            let text = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0777EVE"))
            #expect(text.contains("approved and runs now"))
            #expect(try await h.waitUntilSettled(job: id).state == .succeeded)
            #expect(try await h.database.entries(jobID: id).contains { $0.event == "approval.approve" && $0.detail.contains("user group S0APPROVERS") })
        }
    }

    @Test("forged and replayed button clicks get 401 and record nothing")
    func forgedAndReplayedClicks() async throws {
        try await Harness.run(approvals: 1, access: Self.access) { h in
            let id = try await Self.requestAndWait(h)
            let before = try await h.database.tail(limit: 100).count
            #expect(try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL", signingSecret: "guess").status == .unauthorized)
            let stale = Int(Date().timeIntervalSince1970) - 600
            #expect(try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL", timestamp: stale).status == .unauthorized)
            #expect(try await h.database.allApprovals(jobID: id).isEmpty)
            #expect(try await h.database.tail(limit: 100).count == before)
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)
        }
    }

    @Test("the ways around approval that we could think of all fail")
    func noWayAround() async throws {
        try await Harness.run(approvals: 1, access: Self.access, channels: ["C0OPS"]) { h in
            let id = try await Self.requestAndWait(h)
            // The requester clicking their own button.
            _ = try await h.click("approve", value: "\(id):5->3", user: "U0123ALICE")
            // A button value for a plan that was never shown.
            _ = try await h.click("approve", value: "\(id):5->1", user: "U0789CAROL")
            // A malformed value, a different job, an unknown action.
            _ = try await h.click("approve", value: "\(id)", user: "U0789CAROL")
            _ = try await h.click("approve", value: "999:5->3", user: "U0789CAROL")
            _ = try await h.click("run", value: "\(id):5->3", user: "U0789CAROL")
            // /approve from a channel production does not accept.
            let elsewhere = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0789CAROL", channel: "C0RANDOM"))
            #expect(elsewhere.contains("accepted only from <#C0OPS>"))
            // Asking again makes a second job that waits for its own approval.
            let again = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release)))
            try await h.waitFor(job: again, state: .awaitingApproval)
            #expect(try await h.database.allApprovals(jobID: id).isEmpty)
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)
            #expect(try Self.rollbackCalls(h).isEmpty)
            #expect(try await h.registryStatus() == .ready)
            let replies = await h.world.responseURLCalls().map(\.text)
            #expect(replies.contains { $0.contains("You requested job #\(id)") })
            #expect(replies.contains { $0.contains("outdated") })
            #expect(replies.contains { $0.contains("There is no job #999") })
        }
    }
}
