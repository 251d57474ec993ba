import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat

/// Accepts a `/rollback`: the release is known, the user may do it from this channel;
/// then the job, its audit entries and its first messages are stored in one transaction.
/// Returns the requester's answer.
struct RollbackIntake: Sendable {
    let dependencies: ServerDependencies
    let policy: AccessPolicy
    let reporter: JobReporter
    let approvalMessages: ApprovalMessages
    let workerSignal: WorkSignal
    let notifierSignal: WorkSignal

    func accept(_ rollback: RollbackRequest, from command: SlackSlashCommand, groups: Set<String>, body: Data) async throws -> String {
        let now = dependencies.now()
        let configuration = dependencies.configuration
        let database = dependencies.database
        guard let release = configuration.release(named: rollback.release) else {
            let known = configuration.releases.keys.sorted().joined(separator: ", ")
            try await database.appendAudit(AuditDraft(actor: command.userID, event: "request.refused", detail: "\(command.command) \(command.text): unknown release"), now: now)
            return "Coxswain does not know a release `\(rollback.release)`. Releases it knows: \(known.isEmpty ? "none configured" : known). Example: `/rollback \(configuration.releases.keys.sorted().first ?? "llama-2-7b-production")`"
        }
        let permission: Permission = rollback.emergency ? .emergency : .rollback
        let decision = policy.decide(user: command.userID, groups: groups, permission: permission, environment: release.environment, channel: command.channelID)
        guard case .allowed(let rule) = decision else {
            try await database.appendAudit(AuditDraft(actor: command.userID, event: "access.refused", detail: "\(command.command) \(command.text): \(decision.rule)"), now: now)
            if case .refused(let message, _) = decision {
                return rollback.emergency ? message + " Without the emergency grant, run it without `--emergency`: it then waits for approval." : message
            }
            return "Refused."
        }

        var job = JobRecord(command: command.command, release: release.name, environment: release.environment, namespace: release.namespace,
                            model: release.model, requestedBy: command.userID, channelID: command.channelID, responseURL: command.responseURL,
                            requestedRevision: rollback.revision, reason: rollback.reason, createdAt: now)
        job.emergency = rollback.emergency
        job.approvalsRequired = rollback.emergency ? 0 : (configuration.environments[release.environment]?.approvals ?? 0)
        var audit = [
            AuditDraft(actor: command.userID, event: "job.requested", detail: "\(command.command) \(command.text) in \(command.channelID)"),
            AuditDraft(actor: "coxswain", event: "access.allowed", detail: "\(permission.rawValue): \(rule)"),
        ]
        if rollback.emergency {
            audit.append(AuditDraft(actor: command.userID, event: "emergency.invoked", detail: "break-glass without approval: \(rollback.reason ?? "")"))
        }
        let reporter = self.reporter
        let approvalMessages = self.approvalMessages
        let auditChannel = configuration.slack.auditChannel
        let result = try await database.enqueueJob(job, requestKey: command.idempotencyKey(rawBody: body), audit: audit, now: now) { job, jobsAhead in
            var drafts = [reporter.initialPost(job: job, jobsAhead: jobsAhead)]
            if job.emergency, let auditChannel { drafts.append(approvalMessages.emergencyNotice(job: job, auditChannel: auditChannel, reminder: false)) }
            return drafts
        }
        if !result.isDuplicate {
            workerSignal.signal()
            notifierSignal.signal()
        }
        return acknowledgement(result, release: release)
    }

    private func acknowledgement(_ result: EnqueueResult, release: CoxswainConfiguration.Release) -> String {
        let job = result.job
        let id = job.id ?? 0
        let line = "\(job.command.dropFirst()) \(release.name) (\(release.environment), ns \(release.namespace))"
        let target = job.requestedRevision.map { "to revision \($0)" } ?? "to the last revision that deployed successfully"
        var text = "Job #\(id): \(line), \(target)."
        if job.emergency {
            text += " 🚨 Break-glass: no approval; the audit channel has been told and an approver must acknowledge it afterwards."
        } else if job.approvalsRequired > 0 {
            text += " `\(release.environment)` needs \(job.approvalsRequired) approval\(job.approvalsRequired == 1 ? "" : "s"): Coxswain reads the Helm history, then asks the approvers in this channel with the exact plan. Nothing changes before that."
        }
        if result.jobsAhead > 0 {
            text += " Another job holds `\(release.name)`: this one is number \(result.jobsAhead + 1) in line and starts when the \(result.jobsAhead == 1 ? "job" : "jobs") ahead finish."
        } else if job.approvalsRequired == 0 {
            text += " Starting now: Coxswain reads the Helm history and tells you the exact plan (revision X -> Y) here in a moment."
        }
        text += " Progress is posted in this channel."
        if result.isDuplicate { text = "(already received) " + text }
        return text
    }
}
