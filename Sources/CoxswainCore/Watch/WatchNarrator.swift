import Foundation

/// What people are told about a watch: in the job's thread, and for a breach also in the
/// job's channel (a thread reply notifies nobody), with the decision it asks for.
public struct WatchNarrator: Sendable {
    public let policy: WatchPolicy
    /// The rollback command as the runbook names it, without its slash (`rollback`,
    /// `cx-rollback`): front ends write commands their own way.
    public let rollbackCommand: String

    public init(policy: WatchPolicy, rollbackCommand: String) {
        self.policy = policy
        self.rollbackCommand = rollbackCommand.hasPrefix("/") ? String(rollbackCommand.dropFirst()) : rollbackCommand
    }

    public func started(_ watch: ModelWatch) -> (AuditDraft, [Notice]) {
        let pending: RichText? =
            watch.needsBaseline == true
            ? "P95 latency over \(WatchJudge.number(policy.latencyFactor))× the baseline (the \(policy.baselineWindow) before now) for \(policy.latencyFor)"
            : nil
        let latency: RichText =
            pending ?? watch.baselineP95.map {
                "P95 latency over \(WatchJudge.number(policy.latencyFactor))× the baseline (\(WatchJudge.seconds($0))) for \(policy.latencyFor)"
            }
            ?? "latency not judged: Prometheus had no P95 for the \(policy.baselineWindow) before the change"
        let serving = servingCriteria(watch).map { ", \($0)" }.joined()
        let text: RichText =
            "👀 Watching \(code: watch.release) until \(WatchJudge.clock(watch.endsAt)) (\(policy.duration)) on Prometheus: "
            + "error rate over \(WatchJudge.percent(policy.errorRate)) for \(policy.errorFor), \(latency)\(serving), or a complete outage. "
            + "No answer or too little traffic (fewer than \(WatchJudge.number(policy.minRequests)) requests in \(policy.rateWindow)) "
            + "is inconclusive, never a failure."
        let detail =
            (watch.requestedBy.map { "asked by \($0): " } ?? "")
            + "\(watch.release) until \(WatchJudge.clock(watch.endsAt)), baseline P95 \(watch.baselineP95.map(WatchJudge.seconds) ?? "unknown")"
        return (
            AuditDraft(actor: watch.requestedBy ?? "coxswain", event: "watch.started", detail: detail),
            [.message(text, jobID: watch.jobID, place: place(watch))]
        )
    }

    /// The audit entries and notices for what a reading changed.
    public func told(_ watch: ModelWatch, _ events: [WatchEvent]) -> (audit: [AuditDraft], notices: [Notice]) {
        var audit: [AuditDraft] = []
        var notices: [Notice] = []
        for event in events {
            switch event {
            case .inconclusive(let reason):
                audit.append(AuditDraft(actor: "coxswain", event: "watch.inconclusive", detail: "\(watch.release): \(reason)"))
                notices.append(
                    .message(
                        "⚪ Watch of \(code: watch.release) cannot judge: \(reason). Not counted as a failure; "
                            + "Coxswain keeps asking until \(WatchJudge.clock(watch.endsAt)).",
                        jobID: watch.jobID, place: place(watch)))
            case .servingSources(let notes):
                let text = sources(notes)
                audit.append(AuditDraft(actor: "coxswain", event: "watch.metrics", detail: "\(watch.release): \(text.plainText)"))
                notices.append(.message("📏 Watch of \(code: watch.release) reads " + text + ".", jobID: watch.jobID, place: place(watch)))
            case .judgingAgain:
                notices.append(.message("Watch of \(code: watch.release) is judging again: \(figures(watch)).", jobID: watch.jobID, place: place(watch)))
            case .healthy:
                audit.append(AuditDraft(actor: "coxswain", event: "watch.healthy", detail: "\(watch.release): \(summary(watch))"))
                notices.append(.message("✅ Watch of \(code: watch.release) passed: \(summary(watch)).", jobID: watch.jobID, place: place(watch)))
            case .endedInconclusive(let reason):
                audit.append(AuditDraft(actor: "coxswain", event: "watch.inconclusive", detail: "\(watch.release) ended: \(reason)"))
                notices.append(
                    .message(
                        "⚪ Watch of \(code: watch.release) ended inconclusive: \(reason). \(summary(watch)). "
                            + "Check the model's dashboards; \(command: "status \(watch.release)") shows pods and health.",
                        jobID: watch.jobID, place: place(watch)))
            case .breached(let breach):
                audit.append(AuditDraft(actor: "coxswain", event: "watch.breach", detail: "\(watch.release): \(breach)"))
                notices += breached(watch, breach)
            }
        }
        return (audit, notices)
    }

    private func breached(_ watch: ModelWatch, _ breach: String) -> [Notice] {
        var text: RichText = "🔴 Watch of \(code: watch.release)\(watch.jobID.map { " after job #\($0)" } ?? ""): \(strong: breach). Now: \(figures(watch))."
        var actions: [NoticeAction] = []
        if let job = watch.jobID, let revision = watch.revisionBefore, watch.kind == .upgrade {
            if let automatic = watch.autoRollbackJobID {
                text += " Rolling back to revision \(revision) by itself (\(code: "watch.auto_rollback")): job #\(automatic)."
            } else {
                text += " Roll back to revision \(revision), what ran before the upgrade?"
                actions.append(
                    NoticeAction(
                        kind: .rollback, label: "Roll back to revision \(revision)", value: "\(job):\(watch.release):\(revision):watch",
                        style: .danger,
                        confirmation: .init(
                            title: "Roll back?",
                            text: "A new \(command: rollbackCommand) of \(code: watch.release) to revision \(revision), with the usual approvals."),
                        typed: "\(rollbackCommand) \(watch.release) \(revision) watch breach after job #\(job)"))
            }
        } else if watch.jobID == nil {
            text +=
                " Roll back with \(command: "\(rollbackCommand) \(watch.release)") if this is the last change's doing; "
                + "\(command: "history \(watch.release)") shows it."
        } else {
            text +=
                " This change was a rollback: choose a revision with \(command: "history \(watch.release)") and "
                + "\(command: "\(rollbackCommand) \(watch.release) REVISION")."
        }
        guard watch.jobID != nil else { return [.message(text, jobID: nil, place: place(watch), actions: actions)] }
        return [.message(text, jobID: watch.jobID, place: .thread), .message(text, jobID: watch.jobID, place: .jobChannel, actions: actions)]
    }

    /// A change's watch speaks in the job's thread; an asked-for one in the chat channel it
    /// was asked in, or the audit channel when it came from the console.
    private func place(_ watch: ModelWatch) -> Notice.Place {
        guard watch.jobID == nil else { return .thread }
        return watch.channel.map { .channel($0) } ?? .auditChannel
    }

    private func figures(_ watch: ModelWatch) -> String {
        guard let last = watch.last else { return "no figures yet" }
        let latency =
            last.p95.map { "P95 \(WatchJudge.seconds($0))" + (watch.baselineP95.map { " (baseline \(WatchJudge.seconds($0)))" } ?? "") } ?? "no latency data"
        let serving = policy.serving.compactMap { criterion -> String? in
            let signal = criterion.signal
            guard let value = watch[signal]?.last else { return nil }
            let baseline = signal.againstBaseline ? watch[signal]?.baseline.map { " (baseline \(signal.describe($0)))" } ?? "" : ""
            return ", \(signal.title) \(signal.describe(value))\(baseline)"
        }
        return "error rate \(WatchJudge.percent(last.errorRate)), \(latency)\(serving.joined()), "
            + "\(WatchJudge.number(last.requests)) requests in \(policy.rateWindow)"
    }

    private func summary(_ watch: ModelWatch) -> String {
        let serving = policy.serving.compactMap { criterion in watch[criterion.signal]?.worst.map { (criterion.signal, $0) } }
            .map { ", worst \($0.title) \($0.describe($1))" }.joined()
        let worst = "worst error rate \(WatchJudge.percent(watch.worstErrorRate))" + (watch.worstP95.map { ", worst P95 \(WatchJudge.seconds($0))" } ?? "")
        return "\(policy.duration), \(worst)" + (watch.baselineP95.map { " (baseline \(WatchJudge.seconds($0)))" } ?? "") + serving
            + "; judged \(watch.judged) of \(watch.readings) readings"
    }

    /// The serving criteria as the start of a watch states them.
    private func servingCriteria(_ watch: ModelWatch) -> [String] {
        policy.serving.map { criterion in
            let signal = criterion.signal, hold = criterion.holdFor
            guard signal.againstBaseline else { return "\(signal.title) over \(signal.describe(criterion.limit)) for \(hold)" }
            let factor = signal.describeLimit(criterion.limit)
            if watch.needsBaseline == true { return "\(signal.title) over \(factor) (the \(policy.baselineWindow) before now) for \(hold)" }
            guard let baseline = watch[signal]?.baseline else {
                return "\(signal.title) not judged: Prometheus had none for the \(policy.baselineWindow) before the change"
            }
            return "\(signal.title) over \(factor) (\(signal.describe(baseline))) for \(hold)"
        }
    }

    /// Which metric each serving criterion reads: vLLM renamed some, and a dashboard built on
    /// the other name would show something else.
    private func sources(_ notes: [ServingSourceNote]) -> RichText {
        var parts: [RichText] = []
        for note in notes {
            guard let metric = note.metric else {
                let names = note.tried.map { RichText("\(code: $0)") }.joined(separator: " or ")
                parts.append("\(note.signal.title): no data" + (note.tried.isEmpty ? "" : " under " + names) + ", not judged until there is")
                continue
            }
            let older = note.signal.newerName(than: metric).map { RichText(" (vLLM's older name; \(code: $0) has no data)") } ?? ""
            parts.append("\(note.signal.title) from \(code: metric)" + older)
        }
        return parts.joined(separator: "; ")
    }
}
