import CoxswainCore
import Foundation
import Testing

/// The job life cycle as pure functions: every rule about approvals, confirmation, cancel,
/// acknowledgement, expiry and interruption, without a database.
@Suite struct JobLifecycleTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let plan = RollbackPlan(
        from: HelmRevision(revision: 5, status: "deployed", chart: "c-0.3.0", appVersion: "0.5.1"),
        to: HelmRevision(revision: 3, status: "superseded", chart: "c-0.2.0", appVersion: "0.4.1"))
    static let lifecycle = JobLifecycle(
        narrator: JobNarrator(runbook: { _ in nil }, hasAuditChannel: true, approvalTTL: { _ in GoDuration(milliseconds: 1_800_000) }),
        approvers: { _ in Approvers(users: ["UCAROL"], groups: []) }, approvalTTL: { _ in GoDuration(milliseconds: 1_800_000) })

    static func job(_ state: JobState, approvals: [Approval] = [], required: Int = 1, emergency: Bool = false, requester: String = "UALICE") -> Job {
        Job(
            id: 12,
            request: JobRequest(
                kind: .rollback, command: "/rollback", release: "r", environment: "production", namespace: "production",
                model: "m", requestedBy: requester, channel: "C1", platform: "slack", emergency: emergency),
            state: state, plan: plan, approvalsRequired: required, approvals: approvals, createdAt: now, waitingSince: now)
    }

    static func approval(_ user: String, plan: RollbackPlan = plan) -> Approval {
        Approval(user: user, decision: .approve, plan: plan.json, reason: nil, at: now)
    }

    struct DecisionCase: Sendable, CustomTestStringConvertible {
        var name: String
        var job: Job
        var user: String
        var approve: Bool
        var shown: String?
        /// nil: refused with this text in the message.
        var expected: JobState?
        var refusal: String?
        var testDescription: String { name }
    }

    @Test(arguments: [
        DecisionCase(
            name: "an approver approves the plan shown", job: job(.awaitingApproval), user: "UCAROL", approve: true, shown: "5->3",
            expected: .queued),
        DecisionCase(
            name: "the first of two approvals is recorded", job: job(.awaitingApproval, required: 2), user: "UCAROL", approve: true,
            expected: .awaitingApproval),
        DecisionCase(name: "a denial ends the job", job: job(.awaitingApproval), user: "UCAROL", approve: false, expected: .denied),
        DecisionCase(
            name: "the requester cannot approve", job: job(.awaitingApproval), user: "UALICE", approve: true,
            refusal: "someone else with the approver role"),
        DecisionCase(
            name: "a button of an older plan does not count", job: job(.awaitingApproval), user: "UCAROL", approve: true, shown: "6->5",
            refusal: "is outdated"),
        DecisionCase(
            name: "each person counts once per plan", job: job(.awaitingApproval, approvals: [approval("UCAROL")], required: 2),
            user: "UCAROL", approve: true, refusal: "each person counts once"),
        DecisionCase(name: "a job that does not wait for approval", job: job(.running), user: "UCAROL", approve: true, refusal: "it is running"),
        DecisionCase(
            name: "a job that needs no approval", job: job(.queued, required: 0), user: "UCAROL", approve: true,
            refusal: "it does not need approval"),
    ])
    func decisions(_ test: DecisionCase) {
        let result = Self.lifecycle.decide(
            test.job, user: test.user, approve: test.approve, reason: nil, shownPlanKey: test.shown, rule: "rule",
            now: Self.now)
        switch result {
        case .success(let (change, _)):
            #expect(change.job.state == test.expected)
            #expect(test.refusal == nil)
        case .failure(let refusal):
            #expect(test.expected == nil)
            #expect(refusal.message.plainText.contains(test.refusal ?? "?"), "\(refusal.message.plainText)")
            #expect(refusal.audit?.event == "approval.refused")
        }
    }

    @Test("the gate counts approvals of the current plan, from people who still hold the approve grant")
    func approvalGate() {
        let allowed: (String) -> AccessPolicy.Decision = { $0 == "UCAROL" ? .allowed(rule: "r") : .refused(message: "no", rule: "gone from S0APPROVERS") }
        // Carol approved the plan: it runs.
        if case .wait = Self.lifecycle.approvalGate(Self.job(.running, approvals: [Self.approval("UCAROL")]), stillApproves: allowed, now: Self.now) {
            Issue.record("a valid approval did not count")
        }
        // Dave approved, then left the approvers' user group: his approval no longer counts.
        guard
            case .wait(let change) = Self.lifecycle.approvalGate(
                Self.job(.running, approvals: [Self.approval("UDAVE")]),
                stillApproves: allowed, now: Self.now)
        else {
            Issue.record("an approval from someone who lost the grant counted"); return
        }
        #expect(change.job.state == .awaitingApproval && change.job.approvalRound == 1)
        #expect(change.audit.map(\.event) == ["approval.void", "approval.requested"])
        #expect(change.audit.first?.detail.contains("gone from S0APPROVERS") == true)
        // Approvals of another plan do not count, and the new request says why.
        let older = RollbackPlan(from: Self.plan.from, to: HelmRevision(revision: 4, status: "superseded", chart: "c", appVersion: "a"))
        guard
            case .wait(let moved) = Self.lifecycle.approvalGate(
                Self.job(.running, approvals: [Self.approval("UCAROL", plan: older)]),
                stillApproves: allowed, now: Self.now)
        else {
            Issue.record("an approval of another plan counted"); return
        }
        #expect(moved.notices.contains { $0.plainText.contains("The plan changed since it was approved (5->4 → 5->3)") })
    }

    struct CancelCase: Sendable, CustomTestStringConvertible {
        var name: String
        var state: JobState
        var user: String
        var grants: [Permission]
        var expected: DecisionResult?
        var testDescription: String { name }
    }

    @Test(arguments: [
        CancelCase(name: "the requester, with no cancel grant", state: .queued, user: "UALICE", grants: [], expected: .cancelled),
        CancelCase(name: "someone with the cancel grant", state: .awaitingApproval, user: "UBOB", grants: [.cancel], expected: .cancelled),
        CancelCase(name: "an approver", state: .awaitingConfirmation, user: "UCAROL", grants: [.approve], expected: .cancelled),
        CancelCase(name: "someone else without either", state: .queued, user: "UBOB", grants: [.rollback], expected: nil),
        CancelCase(name: "a running job stops between steps", state: .running, user: "UALICE", grants: [], expected: .willStopBetweenSteps),
        CancelCase(name: "a job that ended", state: .succeeded, user: "UALICE", grants: [], expected: nil),
    ])
    func cancelRules(_ test: CancelCase) {
        let result = Self.lifecycle.cancel(
            Self.job(test.state), user: test.user,
            may: { permission in
                test.grants.contains(permission) ? .allowed(rule: "grant") : .refused(message: "no", rule: "none")
            }, now: Self.now)
        switch result {
        case .success(let (_, decision)): #expect(decision == test.expected)
        case .failure: #expect(test.expected == nil)
        }
    }

    @Test("acknowledgement: only break-glass jobs, once, not by the requester")
    func acknowledgement() {
        #expect((try? Self.lifecycle.acknowledge(Self.job(.succeeded), user: "UCAROL", rule: "r", now: Self.now).get()) == nil)
        #expect((try? Self.lifecycle.acknowledge(Self.job(.succeeded, emergency: true), user: "UALICE", rule: "r", now: Self.now).get()) == nil)
        let done = try? Self.lifecycle.acknowledge(Self.job(.succeeded, emergency: true), user: "UCAROL", rule: "r", now: Self.now).get()
        #expect(done?.0.job.acknowledgedBy == "UCAROL")
        #expect((try? Self.lifecycle.acknowledge(try #require(done).0.job, user: "UDAVE", rule: "r", now: Self.now).get()) == nil)
    }

    @Test("requests expire after the environment's TTL, approvals and confirmations alike")
    func expiry() {
        #expect(Self.lifecycle.expireIfDue(Self.job(.awaitingApproval), now: Self.now.addingTimeInterval(29 * 60)) == nil)
        #expect(Self.lifecycle.expireIfDue(Self.job(.awaitingApproval), now: Self.now.addingTimeInterval(30 * 60))?.job.state == .expired)
        let confirmation = Self.lifecycle.expireIfDue(Self.job(.awaitingConfirmation), now: Self.now.addingTimeInterval(31 * 60))
        #expect(confirmation?.job.outcome == "no confirmation within 30m0s; nothing ran")
        #expect(Self.lifecycle.expireIfDue(Self.job(.running), now: Self.now.addingTimeInterval(3600)) == nil)
    }

    @Test("an interrupted job's running step is marked failed and everyone who asked hears it")
    func interruption() {
        var job = Self.job(.running)
        job.followers = ["UBOB"]
        job.lastCompletedStep = "Confirm"
        job.steps = [
            JobStep(position: 0, action: "helm.history", title: "History", status: .succeeded, startedAt: Self.now, finishedAt: Self.now),
            JobStep(position: 1, action: "helm.rollback", title: "Helm rollback", status: .running, startedAt: Self.now),
        ]
        let change = Self.lifecycle.interrupted(job, why: "by a restart", now: Self.now)
        #expect(change.job.state == .interrupted && change.job.steps.map(\.status) == [.succeeded, .failed])
        #expect(change.job.outcome == "interrupted by a restart after step: Confirm")
        #expect(Set(change.notices.compactMap { if case .person(let user) = $0.place { return user } else { return nil } }) == ["UALICE", "UBOB"])
    }

    @Test("a second request joins an open rollback of the same release, unless it names another target or is break-glass behind a waiting job")
    func joining() {
        let open = [Self.job(.awaitingApproval)]
        func request(revision: Int? = nil, emergency: Bool = false, release: String = "r") -> JobRequest {
            JobRequest(
                kind: .rollback, command: "/rollback", release: release, environment: "production", namespace: "production", model: "m",
                requestedBy: "UBOB", channel: "C1", platform: "slack", revision: revision, emergency: emergency)
        }
        #expect(JobLifecycle.joinable(request(), open: open)?.id == 12)
        #expect(JobLifecycle.joinable(request(revision: 2), open: open) == nil)
        #expect(JobLifecycle.joinable(request(emergency: true), open: open) == nil)
        #expect(JobLifecycle.joinable(request(emergency: true), open: [Self.job(.running)])?.id == 12)
        #expect(JobLifecycle.joinable(request(release: "other"), open: open) == nil)
    }
}
