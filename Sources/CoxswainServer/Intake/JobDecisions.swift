import CoxswainCore
import Foundation
import Logging
import Synchronization

/// Approve, deny, confirm, cancel and acknowledge, whether typed or clicked. Who may decide
/// is the access policy's (the channel rule included); what the decision does to the job is
/// the life cycle's; the store records both in one transaction.
struct JobDecisions: Sendable {
    enum Kind: Sendable, Equatable {
        case approve, deny(reason: String?), confirm, cancel, acknowledge
        var name: String {
            switch self {
            case .approve: return "approve"
            case .deny: return "deny"
            case .confirm: return "confirm"
            case .cancel: return "cancel"
            case .acknowledge: return "acknowledge"
            }
        }
    }

    let jobs: any JobStore
    let audit: any AuditStore
    let health: any StoreHealth
    let now: @Sendable () -> Date
    let logger: Logger
    let policy: AccessPolicy
    let lifecycle: JobLifecycle
    let workerSignal: WorkSignal
    let notifierSignal: WorkSignal

    /// - Parameter shownPlanKey: the plan a clicked button showed; a click counts only for it.
    func decide(_ kind: Kind, jobID: Int64, origin: CommandOrigin, shownPlanKey: String?) async -> RichText {
        let persistence = Persistence.webhook(logger)
        let jobs = self.jobs
        let job: Job
        do {
            guard let found = try await persistence.run("read job #\(jobID)", { try await jobs.job(id: jobID) }) else {
                return "There is no job #\(jobID). \(command: "jobs") lists recent jobs."
            }
            job = found
        } catch {
            return ChangeIntake.cannotRecord(error, health: health)
        }
        let environment = job.request.environment
        let user = origin.user, groups = origin.groups, channel = origin.channel
        let policy = self.policy
        let may: @Sendable (Permission) -> AccessPolicy.Decision = {
            policy.decide(user: user, groups: groups, permission: $0, environment: environment, channel: channel)
        }
        var rule = ""  // the access rule that allows the decision, for the audit trail
        switch kind {
        case .approve, .deny, .acknowledge:
            let decision = may(.approve)
            guard case .allowed(let granted) = decision else { return await refused(decision, kind: kind, job: job, origin: origin) }
            rule = granted
        case .confirm:
            // The requester confirms their own job's new plan; an approver may too.
            if user == job.request.requestedBy, case .allowed = may(job.request.kind == .upgrade ? .upgrade : .rollback) {
                rule = "the requester confirms their own job"
            } else if case .allowed(let granted) = may(.approve) {
                rule = granted
            } else {
                return await refused(may(.approve), kind: kind, job: job, origin: origin)
            }
        case .cancel:
            // The life cycle decides the cancel rule; the channel rule still applies here.
            if let channelRule = Self.channelRefusal(may(.read)) { return await refused(channelRule, kind: kind, job: job, origin: origin) }
        }
        let lifecycle = self.lifecycle
        let now = self.now
        let outcome = Outcome()
        let allowingRule = rule
        do {
            try await JobTransitions(jobs: jobs, persistence: persistence, now: now).apply(job, "record \(kind.name) of job #\(jobID)") { current in
                let result: Result<(JobChange, DecisionResult), JobRefusal>
                switch kind {
                case .approve:
                    result = lifecycle.decide(current, user: user, approve: true, reason: nil, shownPlanKey: shownPlanKey, rule: allowingRule, now: now())
                case .deny(let reason):
                    result = lifecycle.decide(current, user: user, approve: false, reason: reason, shownPlanKey: shownPlanKey, rule: allowingRule, now: now())
                case .confirm: result = lifecycle.confirm(current, user: user, shownPlanKey: shownPlanKey, rule: allowingRule, now: now())
                case .cancel: result = lifecycle.cancel(current, user: user, may: may, now: now())
                case .acknowledge: result = lifecycle.acknowledge(current, user: user, rule: allowingRule, now: now())
                }
                switch result {
                case .success(let (change, decision)):
                    outcome.set(.decided(decision))
                    return change
                case .failure(let refusal):
                    outcome.set(.refused(refusal))
                    return nil
                }
            }
        } catch {
            return ChangeIntake.cannotRecord(error, health: health)
        }
        switch outcome.value {
        case .decided(let decision)?:
            workerSignal.signal()
            notifierSignal.signal()
            return Self.reply(decision, jobID: jobID)
        case .refused(let refusal)?:
            if let audit = refusal.audit { await record(audit, jobID: jobID) }
            return refusal.message
        case nil:
            return "Job #\(jobID) could not be changed."
        }
    }

    /// A refusal by the channel rule, kept apart: the cancel rule itself is the life cycle's.
    static func channelRefusal(_ decision: AccessPolicy.Decision) -> AccessPolicy.Decision? {
        guard case .refused(_, let rule) = decision, rule.contains(".channels excludes") else { return nil }
        return decision
    }

    private func refused(_ decision: AccessPolicy.Decision, kind: Kind, job: Job, origin: CommandOrigin) async -> RichText {
        await record(AuditDraft(actor: origin.user, event: "access.refused", detail: "\(kind.name) job #\(job.id): \(decision.rule)"), jobID: job.id)
        return decision.message ?? "Refused."
    }

    private func record(_ draft: AuditDraft, jobID: Int64) async {
        let audit = self.audit
        let now = self.now()
        do {
            try await Persistence.webhook(logger).run("record a refusal") { try await audit.append(draft, jobID: jobID, notices: [], now: now) }
        } catch {
            logger.error("could not record \(draft.event) for job #\(jobID): \(error)")
        }
    }

    static func reply(_ result: DecisionResult, jobID: Int64) -> RichText {
        switch result {
        case .recorded(let count, let required):
            let more = required - count
            return "Your approval of job #\(jobID) is recorded (\(count) of \(required)); it runs once \(more) more approver\(more == 1 ? "" : "s") agree."
        case .approved: return "Job #\(jobID) is approved and runs now; Coxswain checks the plan is unchanged before touching anything."
        case .denied: return "Job #\(jobID) is denied; nothing ran."
        case .confirmed: return "Job #\(jobID) runs the new plan now (with the approvals its environment needs)."
        case .cancelled: return "Job #\(jobID) is cancelled; nothing ran."
        case .willStopBetweenSteps:
            return "Job #\(jobID) is running: it stops before its next step (never inside a helm call) and its message will say in what state "
                + "it left the release and the registry."
        case .acknowledged: return "Break-glass job #\(jobID) is acknowledged."
        }
    }

    /// What the transition closure decided, read after the commit.
    private final class Outcome: Sendable {
        enum Value: Sendable { case decided(DecisionResult), refused(JobRefusal) }
        private let box = Mutex<Value?>(nil)
        func set(_ value: Value) { box.withLock { $0 = value } }
        var value: Value? { box.withLock { $0 } }
    }
}
