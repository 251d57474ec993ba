import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// Every command is authorised, every check fails closed, and a refusal says who may.
@Suite("authorization", .serialized)
struct AuthorizationTests {
    static let release = "llama-2-7b-production"
    static let access = """
        roles:
          prod-deployer: { grants: [rollback], environments: [production] }
          dev-deployer: { grants: [rollback], environments: [development] }
          upgrader: { grants: [upgrade], environments: [production] }
          approver: { grants: [approve], environments: [production], usergroups: [S0APPROVERS] }
        members:
          U0123ALICE: [prod-deployer]
          U0456BOB: [dev-deployer]
          U0777ERIN: [upgrader]
          U0789CAROL: [approver]
        """

    @Test("someone with no role in production reads nothing of it, and Coxswain runs nothing against it for them")
    func readingNeedsAGrant() async throws {
        try await Harness.run(approvals: 1, access: Self.access) { h in
            // Alice's job in production (reason included) must not be visible to Bob.
            let id = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("\(Self.release) pods OOM, secret incident 7")))
            _ = try await h.waitFor(job: id, state: .awaitingApproval)
            let callsBefore = try h.cluster.calls()
            let history = try Harness.ephemeralText(try await h.command(Self.release, command: "/history", user: "U0456BOB"))
            #expect(history.contains("You (<@U0456BOB>) may not read in `production`"))
            #expect(history.contains("Who may: approver (<@U0789CAROL>, <!subteam^S0APPROVERS>); prod-deployer (<@U0123ALICE>)"))
            let status = try Harness.ephemeralText(try await h.command(Self.release, command: "/status", user: "U0456BOB"))
            #expect(status.contains("may not read in `production`"))
            let jobs = try Harness.ephemeralText(try await h.command("", command: "/jobs", user: "U0456BOB"))
            #expect(!jobs.contains(Self.release) && !jobs.contains("secret incident"))
            let stranger = try Harness.ephemeralText(try await h.command("", command: "/jobs", user: "U0999NOBODY"))
            #expect(stranger.contains("may not read any environment"))
            let releases = try Harness.ephemeralText(try await h.command("production", command: "/releases", user: "U0456BOB"))
            #expect(releases.contains("may not read in `production`"))
            #expect(try h.cluster.calls() == callsBefore)
            // Alice, who may act in production, may read it.
            #expect(try Harness.ephemeralText(try await h.command(Self.release, command: "/history")).contains("Asking the cluster"))
        }
    }

    @Test("/ack and buttons obey the environment's channel rule; approvals and acknowledgements count from the audit channel")
    func channelRuleForAckAndButtons() async throws {
        let access = Self.access.replacingOccurrences(of: "prod-deployer: { grants: [rollback]", with: "prod-deployer: { grants: [rollback, emergency]")
        try await Harness.run(approvals: 1, access: access, channels: ["C0OPS"]) { h in
            let id = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("\(Self.release) --emergency pods OOM")))
            _ = try await h.waitUntilSettled(job: id)
            let ack = try Harness.ephemeralText(try await h.command("\(id)", command: "/ack", user: "U0789CAROL", channel: "C0RANDOM"))
            #expect(ack.contains("Commands for `production` are accepted only from <#C0OPS>"))
            _ = try await h.click("acknowledge", value: "\(id)", user: "U0789CAROL", channel: "C0RANDOM")
            _ = try await h.waitForResponse(containing: "accepted only from")
            #expect(try await h.database.job(id: id)?.acknowledgedBy == nil)
            // The audit channel, where the break-glass notice and its button are, is not a random one.
            _ = try await h.click("acknowledge", value: "\(id)", user: "U0789CAROL", channel: "C0AUDIT")
            _ = try await h.waitForResponse(containing: "is acknowledged")
            #expect(try await h.database.job(id: id)?.acknowledgedBy == "U0789CAROL")
            // Starting a change there is still refused.
            let started = try Harness.ephemeralText(try await h.command(Self.release, channel: "C0AUDIT"))
            #expect(started.contains("accepted only from"), "\(started)")
        }
    }

    @Test("membership of a user group expires when refreshes keep failing past usergroup_ttl (fail closed)")
    func userGroupsExpire() async throws {
        let clock = TestClock()
        try await Harness.run(approvals: 1, access: Self.access, clock: clock, userGroups: ["S0APPROVERS": ["U0999DAVE"]], extra: "usergroup_ttl: 10m") { h in
            let id = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release)))
            _ = try await h.waitFor(job: id, state: .awaitingApproval)
            try await Eventually.until("the group to be read") { await h.world.slackCalls("usergroups.users.list").count >= 1 }
            await h.world.set(userGroupsFail: true)
            clock.advance(by: 11 * 60)
            let refused = try Harness.ephemeralText(try await h.command("\(id)", command: "/approve", user: "U0999DAVE"))
            #expect(refused.contains("You (<@U0999DAVE>) may not approve in `production`"))
            #expect(try await h.database.job(id: id)?.state == .awaitingApproval)
        }
    }

    @Test("a requester may cancel their own job whatever their grants; someone else needs the cancel or approve grant")
    func requesterCancelsOwnUpgrade() async throws {
        var state = StandInCluster.standardRelease()
        state["charts"] = ["oci://ghcr.io/vllm-project/charts/vllm-deployment": ["0.3.0"]]
        try await Harness.run(cluster: state, approvals: 1, access: Self.access) { h in
            let ack = try Harness.ephemeralText(try await h.command("\(Self.release) 0.3.0 --override-promotion x", command: "/upgrade", user: "U0777ERIN"))
            #expect(ack.contains("Only an approver"))
            let upgrade = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("\(Self.release) 0.3.0", command: "/upgrade", user: "U0777ERIN")))
            let other = try Harness.ephemeralText(try await h.command("\(upgrade)", command: "/cancel", user: "U0123ALICE"))
            #expect(
                other.contains("Only the requester (<@U0777ERIN>), or someone with the cancel or approve grant in `production`, may cancel job #\(upgrade)"))
            let own = try Harness.ephemeralText(try await h.command("\(upgrade)", command: "/cancel", user: "U0777ERIN"))
            #expect(own.contains("Job #\(upgrade) is") && (own.contains("cancelled") || own.contains("stops before its next step")))
            #expect(try await h.waitUntilSettled(job: upgrade).state == .cancelled)
        }
    }

    @Test("a word that looks like an option is refused with the usage, and nothing is stored")
    func strictArguments() async throws {
        try await Harness.run(access: Self.access) { h in
            let text = try Harness.ephemeralText(try await h.command("\(Self.release) -n kube-system"))
            #expect(text.contains("`-n` is not an option of /rollback"))
            #expect(text.contains("Usage: `/rollback RELEASE [REVISION] [REASON…]"))
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
            let job = try await h.runToEnd("\(Self.release) -- -n was the wrong namespace")
            #expect(job.request.reason == "-n was the wrong namespace")
        }
    }

    @Test("a response_url outside Slack's hosts is never posted to")
    func responseURLHost() async throws {
        try await Harness.run(access: Self.access) { h in
            let body = Harness.form(text: Self.release, user: "U0123ALICE", channel: "C0OPS", triggerID: "evil", fakePort: h.fakePort)
                .replacingOccurrences(of: "127.0.0.1", with: "localhost")
            let ack = try Harness.ephemeralText(try await h.signed(body: body))
            let id = try Harness.jobID(in: ack)
            _ = try await h.waitUntilSettled(job: id)
            #expect(await h.world.responseURLCalls().isEmpty)
            #expect(try await h.database.reference(jobID: id, role: "person:U0123ALICE") == nil)
        }
    }
}
