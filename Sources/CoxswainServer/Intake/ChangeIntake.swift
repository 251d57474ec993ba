import CoxswainCore
import Foundation
import Logging
import Synchronization

/// Whether the server is shutting down, for answers that must say so.
final class ServerState: Sendable {
    private let draining = Mutex(false)
    var isDraining: Bool { draining.withLock { $0 } }
    func startDraining() { draining.withLock { $0 = true } }
}

/// Accepts a rollback or an upgrade: the release is known, the user may do it from where
/// they asked; then, in one transaction, either a new job with its audit entries and first
/// notices is stored, or the request joins an open job that already does the same. The
/// answer names the job and what happens next.
struct ChangeIntake: Sendable {
    let configuration: CoxswainConfiguration
    let runbooks: RunbookSet
    let jobs: any JobStore
    let audit: any AuditStore
    let health: any StoreHealth
    let policy: AccessPolicy
    let lifecycle: JobLifecycle
    let workerSignal: WorkSignal
    let notifierSignal: WorkSignal
    let state: ServerState
    let now: @Sendable () -> Date
    let logger: Logger

    private var persistence: Persistence { .webhook(logger) }

    /// What the requester is told, and the job when one was stored or joined.
    struct Answer: Sendable {
        var text: RichText
        var jobID: Int64?
    }

    func accept(_ change: ChangeRequest, from origin: CommandOrigin) async -> Answer {
        guard let release = configuration.release(named: change.release) else {
            let readable = configuration.releases.values.filter {
                policy.decide(
                    user: origin.user, groups: origin.groups, permission: .read,
                    environment: $0.environment, channel: nil
                ).isAllowed
            }
            let known = readable.map(\.name).sorted().joined(separator: ", ")
            let example = readable.map(\.name).sorted().first ?? "llama-2-7b-production"
            return Answer(
                text: await refuse(
                    "request.refused", "unknown release", origin: origin,
                    "Coxswain does not know a release \(code: change.release). Releases you may act on: \(known.isEmpty ? "none" : known). "
                        + "Example: \(command: "\(change.kind.rawValue) \(example)\(change.kind == .upgrade ? " 0.3.0" : "")")"))
        }
        let permission: Permission = change.kind == .upgrade ? .upgrade : (change.emergency ? .emergency : .rollback)
        if change.kind == .upgrade {
            guard release.kind == .helm, release.chart != nil, runbooks.runbook(command: change.command) != nil else {
                return Answer(
                    text: await refuse(
                        "request.refused", "release cannot be upgraded", origin: origin,
                        release.kind == .deployment
                            ? "\(code: release.name) is a plain Deployment; Coxswain upgrades Helm releases only."
                            : "\(code: release.name) has no \(code: "chart:") in Coxswain's configuration, so it cannot be upgraded."))
            }
            if change.overridePromotion {
                let approver = policy.decide(
                    user: origin.user, groups: origin.groups, permission: .approve, environment: release.environment, channel: origin.channel)
                guard approver.isAllowed else {
                    return Answer(
                        text: await refuse(
                            "access.refused", "override-promotion: \(approver.rule)", origin: origin,
                            "Only an approver for \(code: release.environment) may use \(code: "--override-promotion"). "
                                + "Without it the promotion gate applies."))
                }
            }
        }
        let decision = policy.decide(
            user: origin.user, groups: origin.groups, permission: permission, environment: release.environment, channel: origin.channel)
        guard case .allowed(let rule) = decision else {
            var message = decision.message ?? "Refused."
            if change.emergency { message += " Without the emergency grant, run it without \(code: "--emergency"): it then waits for approval." }
            return Answer(text: await refuse("access.refused", decision.rule, origin: origin, message))
        }
        return await store(change, release: release, origin: origin, permission: permission, rule: rule)
    }

    /// A rollback Coxswain asks for itself after a watch breach, where the environment says
    /// `watch.auto_rollback: true`: nobody typed it, so no access check, and the
    /// configuration's opt-in stands for the approval. Audited as Coxswain's, with the
    /// breach as its reason; `requestKey` makes asking twice (after a restart) harmless.
    func acceptAutomatic(_ change: ChangeRequest, release: CoxswainConfiguration.Release, origin: CommandOrigin) async -> Answer {
        await store(change, release: release, origin: origin, permission: .rollback, rule: "watch.auto_rollback", approvals: 0)
    }

    private func store(
        _ change: ChangeRequest, release: CoxswainConfiguration.Release, origin: CommandOrigin,
        permission: Permission, rule: String, approvals required: Int? = nil
    ) async -> Answer {
        let request = JobRequest(
            kind: change.kind, command: change.command, release: release.name, environment: release.environment,
            namespace: release.namespace, model: release.model, requestedBy: origin.user, channel: origin.channel,
            platform: origin.platform, revision: change.revision, version: change.version?.raw, reason: change.reason,
            emergency: change.emergency, overridePromotion: change.overridePromotion)
        let approvals = required ?? (change.emergency ? 0 : (configuration.environments[release.environment]?.approvals ?? 0))
        let lifecycle = self.lifecycle
        let jobs = self.jobs
        let now = self.now()
        let asked = origin.asked, user = origin.user
        let result: IntakeResult
        do {
            result = try await persistence.run("record \(change.command) \(release.name)") {
                try await jobs.accept(
                    request, approvalsRequired: approvals, requestKey: origin.requestKey, references: origin.replyReference, now: now,
                    join: JoinFilter(request),
                    created: { job, ahead in lifecycle.accepted(job, asked: asked, permission: permission, rule: rule, jobsAhead: ahead) },
                    joined: { job in lifecycle.joined(job, follower: user, asked: asked) })
            }
        } catch {
            logger.error("could not record \(change.command) \(release.name) from \(origin.user): \(error)")
            return Answer(text: Self.cannotRecord(error, health: health))
        }
        if case .created(let job, let ahead) = result {
            if Self.wakesWorker(job, jobsAhead: ahead) { workerSignal.signal() }
            notifierSignal.signal()
        }
        return Answer(text: acknowledgement(result, release: release), jobID: result.job.id)
    }

    /// The worker has something to do for a new job only when it can start now, or when it
    /// is a rollback in line whose basis (the revision the requester saw) must be read now:
    /// a burst of requests queued behind a busy release does not wake it once per request.
    static func wakesWorker(_ job: Job, jobsAhead: Int) -> Bool {
        jobsAhead == 0 || job.request.kind == .rollback
    }

    /// What the requester is told when the store could not take the request. When the deadline
    /// came before this request's own write could fail, the cause is the one the store's other
    /// writes are meeting (their writes queue ahead of it), if it has one.
    static func cannotRecord(_ error: any Error, health: any StoreHealth) -> RichText {
        let failure = error as? StoreFailure
        let cause =
            failure.flatMap { $0.kind == .cancelled ? nil : $0.cause } ?? health.lastWriteFailure?.cause ?? failure?.cause
            ?? "the database did not answer in time"
        return "⚠️ Coxswain cannot record requests right now: \(cause). Nothing was done; try again in a minute. "
            + "Operators: \(code: "/readyz") and the server log say more."
    }

    private func refuse(_ event: String, _ detail: String, origin: CommandOrigin, _ message: RichText) async -> RichText {
        let audit = self.audit
        let now = self.now()
        let draft = AuditDraft(actor: origin.user, event: event, detail: "\(origin.asked): \(detail)")
        do {
            try await persistence.run("record a refusal") { try await audit.append(draft, jobID: nil, notices: [], now: now) }
        } catch {
            logger.error("could not record the refusal of \(origin.asked) from \(origin.user): \(error)")
        }
        return message
    }

    private func acknowledgement(_ result: IntakeResult, release: CoxswainConfiguration.Release) -> RichText {
        let job = result.job
        let line = "\(job.request.verb) \(release.name) (\(release.environment), ns \(release.namespace))"
        if case .joined = result {
            return "Job #\(job.id) already does this: \(line), requested by \(user: job.request.requestedBy), \(job.state.words). "
                + "You follow it: you will hear here how it ends. Progress is posted where it was asked."
        }
        let target =
            job.request.version.map { "to version \($0)" } ?? job.request.revision.map { "to revision \($0)" }
            ?? "to the last revision that deployed successfully"
        var text: RichText = "Job #\(job.id): \(line), \(target)."
        if case .duplicate = result {
            // Slack sent the same request again (a retry): the job is told as it is now, not
            // as it was when first accepted ("starting now" may long be untrue).
            return "(already received) " + text + " It is \(job.state.words) now. Progress is posted in this channel."
        }
        if job.request.emergency {
            text += " 🚨 Break-glass: no approval; the audit channel has been told and an approver must acknowledge it afterwards."
        } else if job.approvalsRequired > 0 {
            text +=
                " \(code: release.environment) needs \(job.approvalsRequired) approval\(job.approvalsRequired == 1 ? "" : "s"): Coxswain reads "
                + "the Helm history, then asks the approvers in this channel with the exact plan. Nothing changes before that."
        }
        if case .created(_, let ahead) = result, ahead > JobLifecycle.countedAhead {
            text +=
                " Another job holds \(code: release.name), and more than \(JobLifecycle.countedAhead) jobs are ahead of this one; "
                + "it starts when they finish."
        } else if case .created(_, let ahead) = result, ahead > 0 {
            text +=
                " Another job holds \(code: release.name): this one is number \(ahead + 1) in line and starts when the "
                + "\(ahead == 1 ? "job" : "jobs") ahead finish."
        } else if job.approvalsRequired == 0 {
            text += " Starting now: Coxswain reads the Helm history and tells you the exact plan (revision X -> Y) here in a moment."
        }
        text += " Progress is posted in this channel."
        if state.isDraining { text += " ⏸️ Coxswain is restarting: the job is stored and starts as soon as it is back." }
        return text
    }
}
