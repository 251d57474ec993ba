import CoxswainCore
import Foundation
import Testing

/// When a running job may be taken over, and what the release's history says became of the
/// change its runner started.
@Suite struct TakeoverRulesTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let me = RunnerIdentity(id: "me", host: "node-a", processSpace: "boot-1 pid:[1]", pid: 40)

    static func running(by runner: RunnerIdentity?, expiresIn seconds: TimeInterval) -> Job {
        let request = JobRequest(
            kind: .rollback, command: "/rollback", release: "r", environment: "production", namespace: "production", model: "m",
            requestedBy: "U1", channel: "C1", platform: "slack")
        let claim = runner.map { RunnerClaim(generation: 3, runner: $0, renewedAt: now, expiresAt: now.addingTimeInterval(seconds)) }
        return Job(id: 1, request: request, state: .running, createdAt: now, runnerID: runner?.id, claim: claim)
    }

    @Test("abandoned: a claim that expired, a runner gone from this process space, a job without a claim; never a live or own claim")
    func abandonment() {
        let elsewhere = RunnerIdentity(id: "other", host: "node-b", processSpace: "boot-2 pid:[1]", pid: 7)
        let sameSpace = RunnerIdentity(id: "other", host: "node-a", processSpace: "boot-1 pid:[1]", pid: 7)
        let alive: (Int) -> Bool = { _ in true }, dead: (Int) -> Bool = { _ in false }
        #expect(Self.running(by: elsewhere, expiresIn: 10).abandonment(by: Self.me, now: Self.now, isAlive: dead) == nil)
        #expect(Self.running(by: elsewhere, expiresIn: 0).abandonment(by: Self.me, now: Self.now, isAlive: alive) == .expired)
        #expect(Self.running(by: sameSpace, expiresIn: 10).abandonment(by: Self.me, now: Self.now, isAlive: alive) == nil)
        #expect(Self.running(by: sameSpace, expiresIn: 10).abandonment(by: Self.me, now: Self.now, isAlive: dead) == .runnerGone)
        // A restarted container: the same pid, another runner id: its predecessor is gone.
        var predecessor = sameSpace
        predecessor.pid = Self.me.pid
        #expect(Self.running(by: predecessor, expiresIn: 10).abandonment(by: Self.me, now: Self.now, isAlive: alive) == .runnerGone)
        // An unreadable process space never counts as the same.
        var unknown = Self.me
        unknown.processSpace = ""
        var blind = sameSpace
        blind.processSpace = ""
        #expect(Self.running(by: blind, expiresIn: 10).abandonment(by: unknown, now: Self.now, isAlive: dead) == nil)
        #expect(Self.running(by: Self.me, expiresIn: -5).abandonment(by: Self.me, now: Self.now, isAlive: dead) == nil)
        #expect(Self.running(by: nil, expiresIn: 0).abandonment(by: Self.me, now: Self.now, isAlive: alive) == .unclaimed)
        var ended = Self.running(by: elsewhere, expiresIn: -5)
        ended.state = .succeeded
        #expect(ended.abandonment(by: Self.me, now: Self.now, isAlive: dead) == nil)
    }

    static let plan = RollbackPlan(
        from: HelmRevision(revision: 5, status: "deployed", chart: "c-0.3.0", appVersion: "0.5.1"),
        to: HelmRevision(revision: 3, status: "superseded", chart: "c-0.2.0", appVersion: "0.4.1"))
    static func history(_ latest: HelmRevision?) -> [HelmRevision] {
        [HelmRevision(revision: 3, status: "superseded", chart: "c-0.2.0", appVersion: "0.4.1"), plan.from] + (latest.map { [$0] } ?? [])
    }

    @Test("a rollback: not started, pending, landed, failed, or moved by something else")
    func rollbackFindings() {
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(nil)) == .notStarted)
        let pending = HelmRevision(revision: 6, status: "pending-rollback", chart: "c-0.2.0", appVersion: "0.4.1", description: "Rollback to 3")
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(pending)) == .pending(pending))
        var landed = pending
        landed.status = "deployed"
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(landed)) == .landed(landed))
        var failed = pending
        failed.status = "failed"
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(failed)) == .failed(failed))
        var other = landed
        other.description = "Rollback to 2"
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(other)) == .movedElsewhere(other))
        let upgrade = HelmRevision(revision: 6, status: "deployed", chart: "c-0.4.0", appVersion: "0.6.0", description: "Upgrade complete")
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(upgrade)) == .movedElsewhere(upgrade))
        var later = landed
        later.revision = 7
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(later)) == .movedElsewhere(later))
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: []) == .movedElsewhere(Self.plan.from))
    }

    @Test("an upgrade is recognised by its chart version; a plain Deployment by its new revision number")
    func upgradeAndDeploymentFindings() {
        let plan = RollbackPlan(from: Self.plan.from, to: HelmRevision(revision: 6, status: "", chart: "c-0.4.0", appVersion: ""), targetVersion: "0.4.0")
        let landed = HelmRevision(revision: 6, status: "deployed", chart: "c-0.4.0", appVersion: "0.6.0", description: "Upgrade complete")
        #expect(MutationFinding.judge(plan: plan, kind: .upgrade, history: Self.history(landed)) == .landed(landed))
        var wrong = landed
        wrong.chart = "c-0.4.1"
        #expect(MutationFinding.judge(plan: plan, kind: .upgrade, history: Self.history(wrong)) == .movedElsewhere(wrong))
        let undone = HelmRevision(revision: 6, status: "", chart: "", appVersion: "")
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(undone), deployment: true) == .landed(undone))
        #expect(MutationFinding.judge(plan: Self.plan, kind: .rollback, history: Self.history(nil), deployment: true) == .notStarted)
    }
}
