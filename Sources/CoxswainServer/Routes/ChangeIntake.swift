import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat

/// A change someone asked for: a rollback or an upgrade.
enum ChangeRequest: Sendable {
    case rollback(RollbackRequest)
    case upgrade(UpgradeRequest)

    var release: String {
        switch self { case .rollback(let r): return r.release; case .upgrade(let u): return u.release }
    }
    var command: String {
        switch self { case .rollback: return "/rollback"; case .upgrade: return "/upgrade" }
    }
}

/// Where a request came from: a slash command or a button click.
struct RequestOrigin: Sendable {
    var userID: String
    var channelID: String
    var responseURL: String?
    /// Makes a retried delivery harmless.
    var requestKey: String
    /// What was asked, for the audit trail.
    var text: String
}

/// Accepts a `/rollback` or `/upgrade`: the release is known, the user may do it from this
/// channel; then the job, its audit entries and its first messages are stored in one
/// transaction. Returns the requester's answer.
struct ChangeIntake: Sendable {
    let dependencies: ServerDependencies
    let policy: AccessPolicy
    let reporter: JobReporter
    let approvalMessages: ApprovalMessages
    let workerSignal: WorkSignal
    let notifierSignal: WorkSignal

    func accept(_ change: ChangeRequest, origin: RequestOrigin, groups: Set<String>) async throws -> String {
        let now = dependencies.now()
        let configuration = dependencies.configuration
        let database = dependencies.database
        let command = change.command
        func refuse(_ event: String, _ detail: String, _ message: String) async throws -> String {
            try await database.appendAudit(AuditDraft(actor: origin.userID, event: event, detail: "\(command) \(origin.text): \(detail)"), now: now)
            return message
        }
        guard let release = configuration.release(named: change.release) else {
            let known = configuration.releases.keys.sorted().joined(separator: ", ")
            return try await refuse("request.refused", "unknown release",
                "Coxswain does not know a release `\(change.release)`. Releases it knows: \(known.isEmpty ? "none configured" : known). Example: `\(command) \(configuration.releases.keys.sorted().first ?? "llama-2-7b-production")\(command == "/upgrade" ? " 0.3.0" : "")`")
        }
        var emergency = false
        var permission = Permission.rollback
        switch change {
        case .rollback(let rollback):
            emergency = rollback.emergency
            permission = emergency ? .emergency : .rollback
        case .upgrade(let upgrade):
            permission = .upgrade
            guard release.kind == .helm, release.chart != nil, dependencies.upgradeRunbook != nil else {
                return try await refuse("request.refused", "release cannot be upgraded",
                    release.kind == .deployment ? "`\(release.name)` is a plain Deployment; Coxswain upgrades Helm releases only."
                        : "`\(release.name)` has no `chart:` in Coxswain's configuration (or commands/upgrade.yaml is missing), so it cannot be upgraded.")
            }
            if upgrade.overridePromotion {
                let approver = policy.decide(user: origin.userID, groups: groups, permission: .approve, environment: release.environment, channel: origin.channelID)
                guard approver.isAllowed else {
                    return try await refuse("access.refused", "override-promotion: \(approver.rule)",
                        "Only an approver for `\(release.environment)` may use `--override-promotion`. Without it the promotion gate applies.")
                }
            }
        }
        let decision = policy.decide(user: origin.userID, groups: groups, permission: permission, environment: release.environment, channel: origin.channelID)
        guard case .allowed(let rule) = decision else {
            var message = "Refused."
            if case .refused(let text, _) = decision {
                message = emergency ? text + " Without the emergency grant, run it without `--emergency`: it then waits for approval." : text
            }
            return try await refuse("access.refused", decision.rule, message)
        }

        var job = JobRecord(command: command, release: release.name, environment: release.environment, namespace: release.namespace,
                            model: release.model, requestedBy: origin.userID, channelID: origin.channelID, responseURL: origin.responseURL,
                            requestedRevision: nil, reason: nil, createdAt: now)
        switch change {
        case .rollback(let rollback):
            job.requestedRevision = rollback.revision
            job.reason = rollback.reason
        case .upgrade(let upgrade):
            job.requestedVersion = upgrade.version.raw
            job.reason = upgrade.reason
            job.overridePromotion = upgrade.overridePromotion
        }
        job.emergency = emergency
        job.approvalsRequired = emergency ? 0 : (configuration.environments[release.environment]?.approvals ?? 0)
        var audit = [
            AuditDraft(actor: origin.userID, event: "job.requested", detail: "\(command) \(origin.text) in \(origin.channelID)"),
            AuditDraft(actor: "coxswain", event: "access.allowed", detail: "\(permission.rawValue): \(rule)"),
        ]
        if emergency {
            audit.append(AuditDraft(actor: origin.userID, event: "emergency.invoked", detail: "break-glass without approval: \(job.reason ?? "")"))
        }
        if job.overridePromotion {
            audit.append(AuditDraft(actor: origin.userID, event: "promotion.override", detail: "approver overrides the promotion gate: \(job.reason ?? "")"))
        }
        let reporter = self.reporter
        let approvalMessages = self.approvalMessages
        let auditChannel = configuration.slack.auditChannel
        let result = try await database.enqueueJob(job, requestKey: origin.requestKey, audit: audit, now: now) { job, jobsAhead in
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
        let target = job.requestedVersion.map { "to version \($0)" }
            ?? job.requestedRevision.map { "to revision \($0)" } ?? "to the last revision that deployed successfully"
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
