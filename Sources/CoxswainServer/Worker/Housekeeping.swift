import Foundation
import CoxswainCore
import CoxswainStore
import Logging

/// The worker's timed duties: approval requests expire after their environment's TTL, and
/// unacknowledged break-glass jobs are brought up in the audit channel again.
struct Housekeeping: Sendable {
    let dependencies: ServerDependencies
    let reporter: JobReporter
    let approvalMessages: ApprovalMessages

    /// Returns whether it wrote messages to send.
    func run() async -> Bool {
        let now = dependencies.now()
        let configuration = dependencies.configuration
        var wrote = false
        do {
            let reporter = self.reporter
            let approvalMessages = self.approvalMessages
            let expired = try await dependencies.database.expireApprovalRequests(
                now: now, ttl: { configuration.environments[$0]?.approvalTTL.seconds ?? 1800 }
            ) { job, steps in
                let headline = "⌛ *Expired*: no approval within \(configuration.environments[job.environment]?.approvalTTL.description ?? "the approval window"); nothing ran."
                var drafts = [approvalMessages.decided(job: job, headline: headline),
                              reporter.liveUpdate(job: job, steps: steps, summary: ["*Result:* expired without approval. Nothing was changed."])]
                if let line = reporter.auditChannelLine(job: job, steps: steps, outcome: job.outcome ?? "expired") { drafts.append(line) }
                return drafts
            }
            wrote = !expired.isEmpty
            if let auditChannel = configuration.slack.auditChannel {
                let reminded = try await dependencies.database.sendDueReminders(now: now, interval: configuration.emergency.reminderInterval.seconds) { job in
                    [approvalMessages.emergencyNotice(job: job, auditChannel: auditChannel, reminder: true)]
                }
                wrote = wrote || reminded > 0
            }
        } catch {
            dependencies.logger.error("housekeeping failed: \(error)")
        }
        return wrote
    }
}
