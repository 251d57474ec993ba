import CoxswainCore
import Foundation
import Testing

/// The watch after a change asked in Mattermost, against the real Prometheus: the breach is
/// posted in the Mattermost channel with its Roll back button, and the click asks for a
/// rollback like a typed one.
@Suite("Mattermost: the watch's verdict", .serialized, .enabled(if: PrometheusWorld.available))
struct MattermostWatchTests {
    static let release = "llama-2-7b-production"
    static let access = """
        roles:
          deployer: { grants: [rollback, upgrade, cancel], environments: [development, production] }
          approver: { grants: [approve], environments: [production] }
        members: { "mattermost:alice": [deployer, approver], "mattermost:bob": [deployer] }
        """

    @Test("errors after an upgrade asked in Mattermost: the breach there with Roll back; Bob's click asks for approval, Alice's approves, it runs")
    func breachRolledBackByButton() async throws {
        try await PrometheusWorld.run { prometheus in
            try await Harness.run(
                cluster: UpgradeTests.cluster(), approvals: 1, access: Self.access, channels: MattermostTests.channels,
                extra: prometheus.yaml(duration: WatchTests.untilBreach),
                mattermost: true
            ) { h in
                let mattermost = h.world.mattermost
                let answer = try Harness.mattermostAnswer(try await h.mattermostCommand("\(Self.release) 0.3.0", command: "/upgrade", user: "bob"))
                let id = try Harness.jobID(in: answer)
                try await h.waitFor(job: id, state: .awaitingApproval)
                let request = try await Eventually.value("the approval request") {
                    await mattermost.posts(in: Harness.mattermostOps).first { $0.message.contains("Approval needed") && $0.props["attachments"] != nil }
                }
                _ = try await h.mattermostClick(request, action: "approve", user: "alice")
                let upgrade = try await h.waitUntilSettled(job: id)
                #expect(upgrade.state == .succeeded, "\(upgrade.outcome ?? "")")
                _ = try await Eventually.value("the watch's start", timeout: .seconds(40)) {
                    await mattermost.posts(in: Harness.mattermostOps).first { $0.message.contains("👀 Watching") }
                }
                prometheus.traffic.set(errorFraction: 0.3)
                let breach = try await Eventually.value("the breach in the channel, with its button", timeout: .seconds(40)) {
                    await mattermost.posts(in: Harness.mattermostOps).first {
                        $0.rootID == nil && $0.message.contains("🔴") && $0.props["attachments"] != nil
                    }
                }
                #expect(breach.message.contains("%, over 5.0% since"), "\(breach.message)")
                prometheus.traffic.set(errorFraction: 0)
                let clicked = try Harness.mattermostAnswer(try await h.mattermostClick(breach, action: "rollback", user: "bob"))
                let rollbackID = try await h.waitForNewJob(after: id)
                try await h.waitFor(job: rollbackID, state: .awaitingApproval)
                let second = try await Eventually.value("the rollback's approval request") {
                    await mattermost.posts(in: Harness.mattermostOps).first {
                        $0.message.contains("Approval needed") && $0.message.contains("Job #\(rollbackID)") && $0.props["attachments"] != nil
                    }
                }
                _ = try await h.mattermostClick(second, action: "approve", user: "alice")
                let rollback = try await h.waitUntilSettled(job: rollbackID)
                #expect(rollback.state == .succeeded && rollback.request.revision == 5, "\(clicked) \(rollback.outcome ?? "")")
                #expect(rollback.request.requestedBy == "mattermost:bob" && rollback.request.reason == "watch breach after job #\(id)")
            }
        }
    }
}
