import Foundation

/// Approval requests, confirmations and break-glass notices.
extension JobNarrator {
    /// Posted when a planned job starts waiting: the plan, who may approve, when it
    /// expires, and Approve (asked again before it counts) / Deny bound to this plan.
    public func approvalRequest(_ job: Job, plan: RollbackPlan, approvers: Approvers, voidedPlanKey: String?, approvedSoFar: [String]) -> Notice {
        let request = job.request
        let ttl = approvalTTL(request.environment)
        var lines: [RichText] = [
            "🔐 \(strong: "Approval needed") for Job #\(job.id): \(request.verb) \(code: request.release) "
                + "(\(request.environment), ns \(request.namespace)): \(plan.shortText)",
            "From \(plan.from.summary) to \(plan.to.summary)" + (plan.rule.map { ", \($0.text)" } ?? "")
                + ". Requested by \(user: request.requestedBy)" + (request.reason.map { " · reason: \($0)" } ?? "") + ".",
            "Needs \(job.approvalsRequired) approval\(job.approvalsRequired == 1 ? "" : "s") from: \(approvers.mentions). Expires in \(ttl). "
                + "Or \(command: "approve \(job.id)") · \(command: "deny \(job.id) REASON").",
        ]
        if let gitops = plan.gitops {
            lines.insert("\(gitops.suspends ? "⏸️" : gitops.undoes ? "⚠️" : "ℹ️") GitOps: \(gitops.text).", at: 2)
        }
        if let capacity = plan.capacity {
            lines.insert("\(capacity.verdict.fits ? "🟢" : "🟠") GPUs: \(capacity.text).", at: 2)
        }
        if let voidedPlanKey {
            lines.insert("⚠️ The plan changed since it was approved (\(voidedPlanKey) → \(plan.key)); earlier approvals no longer count.", at: 1)
        }
        if !approvedSoFar.isEmpty {
            let who = approvedSoFar.map { RichText("\(user: $0)") }.joined(separator: ", ")
            lines.append("Approved so far (\(approvedSoFar.count) of \(job.approvalsRequired)): \(who).")
        }
        let value = "\(job.id):\(plan.key)"
        let question: RichText = "This runs \(request.verb) \(code: request.release) in \(strong: request.environment): \(plan.shortText)."
        let actions = [
            NoticeAction(
                kind: .approve, label: "Approve", value: value, style: .primary,
                confirmation: .init(title: "Approve job #\(job.id)?", text: question), typed: "approve \(job.id)"),
            NoticeAction(kind: .deny, label: "Deny", value: value, style: .danger, typed: "deny \(job.id) REASON"),
        ]
        return .message(lines.joined(separator: "\n"), jobID: job.id, place: .approval(round: job.approvalRound), actions: actions)
    }

    /// The approval request once decided: no choices left, who decided and when.
    public func approvalClosed(_ job: Job, headline: RichText) -> Notice {
        let text: RichText =
            "\(headline)\nJob #\(job.id): \(job.request.verb) \(code: job.request.release) (\(job.request.environment)): "
            + "\(job.plan?.shortText ?? "")"
        return .message(text, jobID: job.id, place: .approval(round: job.approvalRound))
    }

    /// The release moved since the request was accepted, and not by Coxswain: the requester
    /// decides whether the new plan is still what they want.
    public func confirmationRequest(_ job: Job, plan: RollbackPlan, why: String) -> Notice {
        let text: RichText =
            "❓ \(strong: "Please confirm") Job #\(job.id): \(why) The plan is now \(strong: plan.shortText) "
            + "(from \(plan.from.summary) to \(plan.to.summary)). Nothing has been changed. "
            + "Confirm with the button or \(command: "confirm \(job.id)"); \(command: "cancel \(job.id)") drops it."
        let action = NoticeAction(
            kind: .confirm, label: "Run the new plan", value: "\(job.id):\(plan.key)", style: .primary,
            typed: "confirm \(job.id)")
        return .message(text, jobID: job.id, place: .approval(round: job.approvalRound), actions: [action])
    }

    /// The audit channel's notice of a break-glass rollback, with Acknowledge.
    public func breakGlass(_ job: Job, approvers: Approvers, reminder: Bool) -> Notice? {
        guard hasAuditChannel else { return nil }
        let request = job.request
        let opening: RichText =
            reminder
            ? "⏰ \(strong: "Reminder: break-glass job #\(job.id) is not acknowledged yet.")\n"
            : "🚨 \(strong: "BREAK-GLASS") "
        let text =
            opening + "\(request.verb) \(code: request.release) in \(strong: request.environment) by \(user: request.requestedBy) "
            + "without approval. Reason: \(request.reason ?? "-")\nAn approver must acknowledge it: \(approvers.mentions) — button below or "
            + "\(command: "ack \(job.id)")."
        let action = NoticeAction(kind: .acknowledge, label: "Acknowledge", value: String(job.id), typed: "ack \(job.id)")
        return .message(text, jobID: job.id, place: .auditChannel, actions: [action])
    }
}
