import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat

/// Approve, deny, cancel and acknowledge, whether typed (`/approve 12`) or clicked. Checks
/// who may decide, records the decision with its audit entries and messages in one
/// transaction, and returns what to tell the person who asked.
struct JobDecisions: Sendable {
    enum Kind: Sendable { case approve, deny(reason: String?), cancel, acknowledge }

    let dependencies: ServerDependencies
    let policy: AccessPolicy
    let reporter: JobReporter
    let approvalMessages: ApprovalMessages
    let workerSignal: WorkSignal
    let notifierSignal: WorkSignal

    /// - Parameters:
    ///   - channel: where a slash command was typed (channel rules apply); nil for buttons,
    ///     which can only be clicked where Coxswain posted them.
    ///   - shownPlanKey: the plan a clicked button showed; a click counts only for it.
    func decide(_ kind: Kind, jobID: Int64, user: String, groups: Set<String>, channel: String?, shownPlanKey: String?) async throws -> String {
        let database = dependencies.database
        let now = dependencies.now()
        guard let job = try await database.job(id: jobID) else { return "There is no job #\(jobID). `coxswain jobs list` shows recent jobs." }
        let permission: Permission
        switch kind {
        case .approve, .deny, .acknowledge: permission = .approve
        case .cancel: permission = .cancel
        }
        var decision = policy.decide(user: user, groups: groups, permission: permission, environment: job.environment, channel: channel)
        if case .cancel = kind, !decision.isAllowed {
            // The requester may cancel their own job; an approver may cancel any job there.
            let mayStart = [Permission.rollback, .emergency].contains {
                policy.decide(user: user, groups: groups, permission: $0, environment: job.environment, channel: channel).isAllowed
            }
            if user == job.requestedBy && mayStart {
                decision = .allowed(rule: "the requester may cancel their own job")
            } else if case .allowed(let rule) = policy.decide(user: user, groups: groups, permission: .approve, environment: job.environment, channel: channel) {
                decision = .allowed(rule: "approvers may cancel: \(rule)")
            }
        }
        guard case .allowed(let rule) = decision else {
            try await database.appendAudit(AuditDraft(actor: user, event: "access.refused", detail: "\(Self.name(kind)) job #\(jobID): \(decision.rule)"), jobID: jobID, now: now)
            if case .refused(let message, _) = decision { return message }
            return "Refused."
        }
        let steps = try await database.steps(jobID: jobID)
        let reporter = self.reporter
        let approvalMessages = self.approvalMessages
        let when = ApprovalMessages.clockTime(now)
        let result: DecisionResult
        switch kind {
        case .approve, .deny:
            let isApprove: Bool = { if case .approve = kind { return true } else { return false } }()
            let reason: String? = { if case .deny(let text) = kind { return text } else { return nil } }()
            result = try await database.recordDecision(
                jobID: jobID, user: user, decision: isApprove ? .approve : .deny, reason: reason, shownPlanKey: shownPlanKey, rule: rule, now: now
            ) { job, result, approvers in
                switch result {
                case .recorded:
                    guard let plan = job.plan else { return [] }
                    return [approvalMessages.request(job: job, plan: plan, voidedBy: nil, approvedSoFar: approvers)]
                case .approved:
                    return [approvalMessages.decided(job: job, headline: "✅ *Approved* by \(approvers.map { "<@\($0)>" }.joined(separator: ", ")) at \(when). Running now.")]
                case .denied:
                    let headline = "🚫 *Denied* by <@\(user)> at \(when)\(reason.map { ": \(SlackMessageRenderer.escape($0))" } ?? "")."
                    var drafts = [approvalMessages.decided(job: job, headline: headline),
                                  reporter.liveUpdate(job: job, steps: steps, summary: ["*Result:* denied by <@\(user)>\(reason.map { ": \(SlackMessageRenderer.escape($0))" } ?? ""). Nothing was changed."])]
                    if let line = reporter.auditChannelLine(job: job, steps: steps, outcome: job.outcome ?? "denied") { drafts.append(line) }
                    return drafts
                default:
                    return []
                }
            }
        case .cancel:
            result = try await database.requestCancel(jobID: jobID, user: user, rule: rule, now: now) { job in
                var drafts = [reporter.liveUpdate(job: job, steps: steps, summary: ["*Result:* cancelled by <@\(user)> before it started. Nothing was changed."])]
                if job.approvalRequestedAt != nil {
                    drafts.append(approvalMessages.decided(job: job, headline: "⏹️ *Cancelled* by <@\(user)> at \(when)."))
                }
                if let line = reporter.auditChannelLine(job: job, steps: steps, outcome: job.outcome ?? "cancelled") { drafts.append(line) }
                return drafts
            }
        case .acknowledge:
            let auditChannel = dependencies.configuration.slack.auditChannel
            result = try await database.acknowledge(jobID: jobID, user: user, rule: rule, now: now) { job in
                guard let auditChannel else { return [] }
                return [OutgoingDraft(kind: .post, channel: auditChannel, text: "✅ Break-glass job #\(jobID) (`\(job.release)`, \(job.environment)) acknowledged by <@\(user)> at \(when).")]
            }
        }
        workerSignal.signal()
        notifierSignal.signal()
        return Self.reply(result, jobID: jobID)
    }

    static func reply(_ result: DecisionResult, jobID: Int64) -> String {
        switch result {
        case .recorded(let count, let required): return "Your approval of job #\(jobID) is recorded (\(count) of \(required)); it runs once \(required - count) more approver\(required - count == 1 ? "" : "s") agree."
        case .approved: return "Job #\(jobID) is approved and runs now; Coxswain checks the plan is unchanged before touching anything."
        case .denied: return "Job #\(jobID) is denied; nothing ran."
        case .cancelled: return "Job #\(jobID) is cancelled; nothing ran."
        case .willStopBetweenSteps: return "Job #\(jobID) is running: it stops before its next step (never inside a helm call) and its message will say in what state it left the release and the registry."
        case .acknowledged: return "Break-glass job #\(jobID) is acknowledged."
        case .refused(let text): return text
        }
    }

    static func name(_ kind: Kind) -> String {
        switch kind {
        case .approve: return "approve"
        case .deny: return "deny"
        case .cancel: return "cancel"
        case .acknowledge: return "acknowledge"
        }
    }
}
