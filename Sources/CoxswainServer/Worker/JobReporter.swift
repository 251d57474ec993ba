import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat

/// Builds what the channel is told about a job from what the store holds about it: the
/// live message, thread details, the requester's ephemeral notes and the audit-channel line.
struct JobReporter: Sendable {
    let runbooks: @Sendable (String) -> Runbook
    let auditChannel: String?

    init(dependencies: ServerDependencies) {
        self.runbooks = { [dependencies] in dependencies.runbook(for: $0) }
        self.auditChannel = dependencies.configuration.slack.auditChannel
    }

    func progress(job: JobRecord, steps: [JobStepRecord], summary: [String] = []) -> JobProgress {
        let byPosition = Dictionary(uniqueKeysWithValues: steps.map { ($0.position, $0) })
        let rows = runbooks(job.command).steps.enumerated().map { index, step -> JobProgress.Step in
            guard let record = byPosition[index] else { return .init(title: step.title, status: nil) }
            return .init(title: record.title, status: record.status, durationMilliseconds: record.durationMilliseconds, note: record.note)
        }
        return JobProgress(jobID: job.id ?? 0, command: String(job.command.drop { $0 == "/" }), release: job.release,
                           environment: job.environment, namespace: job.namespace, requestedBy: job.requestedBy,
                           reason: job.reason, state: job.state, plan: job.plan, steps: rows, summary: summary)
    }

    /// The live message as first posted, when the job is accepted.
    func initialPost(job: JobRecord, jobsAhead: Int) -> OutgoingDraft {
        let rendered = SlackMessageRenderer.liveMessage(progress(job: job, steps: [], summary: [queueLine(job: job, jobsAhead: jobsAhead)]))
        return OutgoingDraft(kind: .postLive, channel: job.channelID, text: rendered.text, blocksJSON: rendered.blocksJSON)
    }

    func queueLine(job: JobRecord, jobsAhead: Int) -> String {
        jobsAhead == 0 ? "Queued: starts as soon as a worker is free."
                       : "Queued: \(jobsAhead) job\(jobsAhead == 1 ? "" : "s") for \(job.release) ahead of this one; it starts when \(jobsAhead == 1 ? "that one finishes" : "they finish")."
    }

    func liveUpdate(job: JobRecord, steps: [JobStepRecord], summary: [String] = []) -> OutgoingDraft {
        let rendered = SlackMessageRenderer.liveMessage(progress(job: job, steps: steps, summary: summary))
        return OutgoingDraft(kind: .updateLive, channel: job.channelID, text: rendered.text, blocksJSON: rendered.blocksJSON)
    }

    /// After a failed upgrade: one click starts a `/rollback` to the revision deployed before
    /// it (a new job, subject to the same permissions and approvals).
    func rollbackOffer(job: JobRecord, target: HelmRevision) -> OutgoingDraft {
        let revision = target.revision
        let text = "↩️ Upgrade job #\(job.id ?? 0) failed after `helm upgrade` started. Roll `\(job.release)` back to revision \(revision) (\(target.chart), app \(target.appVersion))? Or `/rollback \(job.release) \(revision)`."
        let blocks = SlackBlocks.message(text, buttons: [
            .init(actionID: "rollback", label: "Roll back to revision \(revision)", value: "\(job.id ?? 0):\(job.release):\(revision)", style: "danger"),
        ], blockID: "rollback-\(job.id ?? 0)")
        return OutgoingDraft(kind: .post, channel: job.channelID, text: text, blocksJSON: blocks)
    }

    func threadDetail(job: JobRecord, title: String, body: String) -> OutgoingDraft {
        OutgoingDraft(kind: .threadReply, channel: job.channelID, text: SlackMessageRenderer.threadDetail(title: title, body: body))
    }

    func ephemeral(job: JobRecord, text: String) -> OutgoingDraft? {
        job.responseURL.map { OutgoingDraft(kind: .ephemeral, responseURL: $0, text: text) }
    }

    func auditChannelLine(job: JobRecord, steps: [JobStepRecord], outcome: String) -> OutgoingDraft? {
        guard let auditChannel else { return nil }
        return OutgoingDraft(kind: .post, channel: auditChannel,
                             text: SlackMessageRenderer.auditLine(progress(job: job, steps: steps), outcome: outcome))
    }

    /// What the channel hears about a job a restart interrupted.
    func interruption(job: JobRecord, steps: [JobStepRecord]) -> [OutgoingDraft] {
        let last = job.lastCompletedStep ?? "none"
        let summary = [
            "*Result:* interrupted by a Coxswain restart. Last completed step: \(last).",
            "Coxswain did not touch the release after the restart. Check it with `helm history \(job.release) -n \(job.namespace)` and the registry with `coxswain registry list --environment \(job.environment)`.",
        ]
        var drafts = [liveUpdate(job: job, steps: steps, summary: summary)]
        if let line = auditChannelLine(job: job, steps: steps, outcome: "interrupted after step: \(last)") { drafts.append(line) }
        return drafts
    }
}
