import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// Several people asking for the same rollback during an incident must end on the good
/// version with one helm rollback, never flip back to the bad one.
@Suite("concurrent rollbacks", .serialized)
struct ConcurrentRollbackTests {
    static let release = "llama-2-7b-production"
    static let access = """
        roles:
          oncall: { grants: [rollback], environments: [production] }
        members:
        \((1...20).map { "  U\(String(format: "%04d", $0))OPS: [oncall]" }.joined(separator: "\n"))
        """

    /// The issue's history: 1 superseded (good), 2 failed, 3 deployed (0.2.1, bad).
    static var badRelease: [String: Any] {
        StandInCluster.standardRelease(revisions: [
            StandInCluster.revision(1, "superseded", chart: "vllm-deployment-0.2.0", app: "0.2.0", description: "Install complete"),
            StandInCluster.revision(2, "failed", chart: "vllm-deployment-0.2.1", app: "0.2.1", description: "Upgrade failed"),
            StandInCluster.revision(3, "deployed", chart: "vllm-deployment-0.2.1", app: "0.2.1", description: "Upgrade complete"),
        ])
    }

    static func rollbacks(_ h: Harness) throws -> [[String]] { try h.cluster.calls().filter { $0.prefix(2) == ["helm", "rollback"] } }

    @Test("a second /rollback joins the one under way: one helm rollback, and both people hear the result")
    func secondRequestJoins() async throws {
        try await Harness.run(cluster: Self.badRelease, access: Self.access) { h in
            let first = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release, user: "U0001OPS")))
            let second = try Harness.ephemeralText(try await h.command(Self.release, user: "U0002OPS", triggerID: "second"))
            #expect(second.contains("Job #\(first) already does this"))
            #expect(second.contains("You follow it"))
            let job = try await h.waitUntilSettled(job: first)
            #expect(job.state == .succeeded && job.followers == ["U0002OPS"])
            #expect(try Self.rollbacks(h) == [["helm", "rollback", Self.release, "1", "-n", "production", "--wait", "--timeout", "10m0s"]])
            #expect(try await h.database.recentJobs(release: nil, limit: 5).count == 1)
            #expect(
                await h.world.responseURLCalls().contains { $0.path == "/hooks/second" && $0.text.contains("Job #\(first)") && $0.text.contains("succeeded") })
            #expect(try await h.auditEvents(job: first).contains("job.joined"))
        }
    }

    @Test("twenty people typing /rollback at once end on the good version with exactly one helm rollback")
    func twentyAtOnce() async throws {
        try await Harness.run(cluster: Self.badRelease, access: Self.access) { h in
            let acks = try await withThrowingTaskGroup(of: String.self) { group in
                for n in 1...20 {
                    group.addTask { try Harness.ephemeralText(try await h.command(Self.release, user: "U\(String(format: "%04d", n))OPS")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let ids = Set(try acks.map { try Harness.jobID(in: $0) })
            #expect(ids.count == 1, "\(acks)")
            let job = try await h.waitUntilSettled(job: try #require(ids.first))
            #expect(job.state == .succeeded)
            #expect(job.followers.count == 19)
            #expect(try Self.rollbacks(h).count == 1)
            #expect(try Self.rollbacks(h).first?[3] == "1")
            let revisions =
                try h.cluster.state()["releases"].flatMap { ($0 as? [String: Any])?[Self.release] as? [String: Any] }?["revisions"] as? [[String: Any]]
            #expect(revisions?.last?["description"] as? String == "Rollback to 1")
        }
    }

    @Test("an explicit revision after an automatic one waits its turn; the release moved, so its requester confirms the new plan")
    func explicitAfterAutomatic() async throws {
        var cluster = StandInCluster.standardRelease()
        let gate = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID().uuidString)")
        var releases = cluster["releases"] as! [String: Any]
        var release = releases[Self.release] as! [String: Any]
        release["rollback_gate"] = gate.path
        releases[Self.release] = release
        cluster["releases"] = releases
        try await Harness.run(cluster: cluster, access: Self.access) { h in
            let first = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release, user: "U0001OPS")))
            let secondAck = try Harness.ephemeralText(try await h.command("\(Self.release) 2", user: "U0002OPS"))
            #expect(secondAck.contains("number 2 in line"))
            let second = try Harness.jobID(in: secondAck)
            // While the first job's helm rollback is held, the second one reads what the release is at.
            let queued = try await Eventually.value("job \(second)'s basis") { try await h.database.job(id: second)?.basisRevision }
            #expect(queued == 5)
            try Data().write(to: gate)
            #expect(try await h.waitUntilSettled(job: first).state == .succeeded)
            let parked = try await h.waitFor(job: second, state: .awaitingConfirmation)
            #expect(parked.plan?.shortText == "revision 6 -> 2")
            let ask = try #require(await h.world.slackCalls("chat.postMessage").last { $0.text.contains("Please confirm") })
            #expect(ask.text.contains("moved from revision 5 to 6 since you asked (by Coxswain job #\(first))"))
            _ = try await h.command("\(second)", command: "/confirm", user: "U0002OPS")
            #expect(try await h.waitUntilSettled(job: second).state == .succeeded)
            #expect(try Self.rollbacks(h).map { $0[3] } == ["3", "2"])
        }
    }

    @Test("a rollback waiting for approval that a break-glass rollback overtook ends as already done, without a second helm rollback")
    func alreadyDone() async throws {
        let access = """
            roles:
              oncall: { grants: [rollback, emergency], environments: [production] }
              approver: { grants: [approve], environments: [production] }
            members: { U0001OPS: [oncall], U0002OPS: [oncall], U0789CAROL: [approver] }
            """
        try await Harness.run(approvals: 1, access: access) { h in
            let waiting = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release, user: "U0001OPS")))
            _ = try await h.waitFor(job: waiting, state: .awaitingApproval)
            // Break-glass never waits behind a job that is not running: it is not joined to it.
            let emergency = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("\(Self.release) --emergency pods OOM", user: "U0002OPS")))
            #expect(emergency != waiting)
            #expect(try await h.waitUntilSettled(job: emergency).state == .succeeded)
            _ = try await h.click("approve", value: "\(waiting):5->3", user: "U0789CAROL")
            let job = try await h.waitUntilSettled(job: waiting)
            #expect(job.state == .superseded)
            #expect(job.outcome == "already done by job #\(emergency) (now revision 6, chart vllm-deployment-0.2.0)")
            #expect(try Self.rollbacks(h).count == 1)
            #expect(await h.world.responseURLCalls().contains { $0.text.contains("Job #\(waiting)") && $0.text.contains("already done by job #\(emergency)") })
        }
    }
}
