import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat

/// The approval request and what becomes of it, as the channel sees them.
struct ApprovalMessages: Sendable {
    let policy: AccessPolicy
    let environments: [String: CoxswainConfiguration.Environment]

    /// Posted when a planned job starts waiting: the plan, who may approve, when it expires,
    /// and Approve (with a confirm dialog) / Deny buttons bound to this plan.
    func request(job: JobRecord, plan: RollbackPlan, voidedBy previous: String?, approvedSoFar: [String] = []) -> OutgoingDraft {
        let id = job.id ?? 0
        let approvers = policy.approvers(environment: job.environment)
        let mentions = (approvers.users.map { "<@\($0)>" } + approvers.groups.map { "<!subteam^\($0)>" }).joined(separator: " ")
        let ttl = environments[job.environment]?.approvalTTL ?? GoDuration(milliseconds: 1_800_000)
        var lines = [
            "🔐 *Approval needed* for Job #\(id): \(job.command.dropFirst()) `\(job.release)` (\(job.environment), ns \(job.namespace)): \(plan.shortText)",
            "From \(plan.from.summary) to \(plan.to.summary). Requested by <@\(job.requestedBy)>\(job.reason.map { " · reason: \(SlackMessageRenderer.escape($0))" } ?? "").",
            "Needs \(job.approvalsRequired) approval\(job.approvalsRequired == 1 ? "" : "s") from: \(mentions.isEmpty ? "(no approver configured)" : mentions). Expires in \(ttl). Or `/approve \(id)` · `/deny \(id) REASON`.",
        ]
        if let previous { lines.insert("⚠️ The plan changed since it was approved (\(previous) → \(plan.key)); earlier approvals no longer count.", at: 1) }
        if !approvedSoFar.isEmpty {
            lines.append("Approved so far (\(approvedSoFar.count) of \(job.approvalsRequired)): \(approvedSoFar.map { "<@\($0)>" }.joined(separator: ", ")).")
        }
        let text = lines.joined(separator: "\n")
        let value = "\(id):\(plan.key)"
        let blocks = SlackBlocks.message(text, buttons: [
            .init(actionID: "approve", label: "Approve", value: value, style: "primary",
                  confirm: ("Approve job #\(id)?", "This runs \(job.command.dropFirst()) `\(job.release)` in *\(job.environment)*: \(plan.shortText).")),
            .init(actionID: "deny", label: "Deny", value: value, style: "danger"),
        ], blockID: "approval-\(id)")
        return OutgoingDraft(kind: approvedSoFar.isEmpty ? .postApproval : .updateApproval, channel: job.channelID, text: text, blocksJSON: blocks)
    }

    /// The approval request after a decision: no buttons, who decided and when.
    func decided(job: JobRecord, headline: String) -> OutgoingDraft {
        var text = "\(headline)\nJob #\(job.id ?? 0): \(job.command.dropFirst()) `\(job.release)` (\(job.environment)): \(job.plan?.shortText ?? "")"
        if let ts = job.messageTS {
            text += "\nProgress: https://slack.com/archives/\(job.channelID)/p\(ts.replacingOccurrences(of: ".", with: ""))"
        }
        return OutgoingDraft(kind: .updateApproval, channel: job.channelID, text: text, blocksJSON: SlackBlocks.message(text))
    }

    /// The audit channel's notice of a break-glass rollback, with an Acknowledge button.
    func emergencyNotice(job: JobRecord, auditChannel: String, reminder: Bool) -> OutgoingDraft {
        let id = job.id ?? 0
        let approvers = policy.approvers(environment: job.environment)
        let mentions = (approvers.users.map { "<@\($0)>" } + approvers.groups.map { "<!subteam^\($0)>" }).joined(separator: " ")
        let text = (reminder ? "⏰ *Reminder: break-glass job #\(id) is not acknowledged yet.*\n" : "🚨 *BREAK-GLASS* ")
            + "\(job.command.dropFirst()) `\(job.release)` in *\(job.environment)* by <@\(job.requestedBy)> without approval. "
            + "Reason: \(SlackMessageRenderer.escape(job.reason ?? "-"))\nAn approver must acknowledge it: \(mentions) — button below or `/ack \(id)`."
        let blocks = SlackBlocks.message(text, buttons: [.init(actionID: "acknowledge", label: "Acknowledge", value: String(id))], blockID: "ack-\(id)")
        return OutgoingDraft(kind: .post, channel: auditChannel, text: text, blocksJSON: blocks)
    }

    static func clockTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date) + " UTC"
    }
}
