import Foundation

/// Who may approve in an environment, for the approval request's mentions.
public struct Approvers: Sendable, Equatable {
    public var users: [String]
    public var groups: [String]
    public init(users: [String], groups: [String]) { self.users = users; self.groups = groups }

    public var mentions: RichText {
        let all = users.map { RichText("\(user: $0)") } + groups.map { RichText("\(group: $0)") }
        return all.isEmpty ? "(no approver configured)" : all.joined(separator: " ")
    }
}

/// Writes what people are told about a job: its live message, thread details, replies to
/// the requester and the followers, the audit channel's lines, approval requests and
/// break-glass notices. Pure: it only reads the job and the runbook.
public struct JobNarrator: Sendable {
    let runbook: @Sendable (JobRequest) -> Runbook?
    let hasAuditChannel: Bool
    let approvalTTL: @Sendable (String) -> GoDuration

    public init(
        runbook: @escaping @Sendable (JobRequest) -> Runbook?, hasAuditChannel: Bool,
        approvalTTL: @escaping @Sendable (String) -> GoDuration
    ) {
        self.runbook = runbook; self.hasAuditChannel = hasAuditChannel; self.approvalTTL = approvalTTL
    }

    /// The live message's content: every runbook step, done or not yet, and the summary.
    public func progress(_ job: Job, summary: [RichText] = []) -> Notice {
        let byPosition = Dictionary(job.steps.map { ($0.position, $0) }, uniquingKeysWith: { $1 })
        let titles = runbook(job.request)?.steps.map(\.title) ?? job.steps.map(\.title)
        let rows = titles.enumerated().map { index, title -> JobProgress.Step in
            guard let step = byPosition[index] else { return .init(title: title, status: nil) }
            return .init(title: step.title, status: step.status, durationMilliseconds: step.durationMilliseconds, note: step.note)
        }
        let progress = JobProgress(
            jobID: job.id, planLine: job.planLine, requestedBy: job.request.requestedBy,
            reason: job.request.reason, state: job.state, steps: rows, summary: summary, handover: job.handover)
        return Notice(jobID: job.id, place: .live, body: .progress(progress))
    }

    public func queueLine(_ job: Job, jobsAhead: Int) -> RichText {
        if jobsAhead == 0 { return "Queued: starts as soon as a worker is free." }
        if jobsAhead > JobLifecycle.countedAhead {
            return "Queued: more than \(JobLifecycle.countedAhead) jobs for \(job.request.release) ahead of this one; it starts when they finish."
        }
        let them = jobsAhead == 1 ? "that one finishes" : "they finish"
        return "Queued: \(jobsAhead) job\(jobsAhead == 1 ? "" : "s") for \(job.request.release) ahead of this one; it starts when \(them)."
    }

    /// Details for the live message's thread: a title and a preformatted excerpt.
    public func detail(_ job: Job, title: String, body: String) -> Notice {
        let text: RichText = body.isEmpty ? "\(strong: title)" : "\(strong: title)\n\(preformatted: body)"
        return .message(text, jobID: job.id, place: .thread)
    }

    public func reply(_ job: Job, to user: String, _ text: RichText) -> Notice {
        .message(text, jobID: job.id, place: .person(user))
    }

    /// The same reply to the requester and every follower.
    public func tellEveryone(_ job: Job, _ text: RichText) -> [Notice] {
        job.audience.map { reply(job, to: $0, text) }
    }

    /// The audit channel's one line about a job that ended.
    public func auditLine(_ job: Job, outcome: String) -> Notice? {
        guard hasAuditChannel else { return nil }
        let text: RichText = "\(job.state.symbol) Job #\(job.id) \(job.planLine) by \(user: job.request.requestedBy): \(outcome)"
        return .message(text, jobID: job.id, place: .auditChannel)
    }

    /// After a failed upgrade: one choice starts a rollback to the revision deployed before
    /// it (a new job, with the same permissions and approvals as a typed one).
    public func rollbackOffer(_ job: Job, target: HelmRevision) -> Notice {
        let release = job.request.release
        let text: RichText =
            "↩️ Upgrade job #\(job.id) failed after \(code: "helm upgrade") started. Roll \(code: release) back to "
            + "revision \(target.revision) (\(target.chart), app \(target.appVersion))? Or \(command: "rollback \(release) \(target.revision)")."
        let action = NoticeAction(
            kind: .rollback, label: "Roll back to revision \(target.revision)", value: "\(job.id):\(release):\(target.revision)",
            style: .danger, typed: "rollback \(release) \(target.revision)")
        return .message(text, jobID: job.id, place: .jobChannel, actions: [action])
    }

    /// What a restart or a shutdown that stopped the job mid-way leaves behind.
    public func interruptionSummary(_ job: Job, why: String) -> [RichText] {
        let last = job.lastCompletedStep ?? "none"
        return [
            "\(strong: "Result:") interrupted \(why). Last completed step: \(last).",
            "Coxswain did not touch the release after that. Check it with \(code: "helm history \(job.request.release) -n \(job.request.namespace)") "
                + "and the registry with \(code: "coxswain registry list --environment \(job.request.environment)").",
        ]
    }
}

extension JobState {
    public var symbol: String {
        switch self {
        case .queued: return "🕒"
        case .running: return "⏳"
        case .succeeded: return "✅"
        case .failed: return "❌"
        case .interrupted: return "⚠️"
        case .awaitingApproval: return "🔐"
        case .awaitingConfirmation: return "❓"
        case .denied: return "🚫"
        case .expired: return "⌛"
        case .cancelled: return "⏹️"
        case .superseded: return "↪️"
        }
    }
}
