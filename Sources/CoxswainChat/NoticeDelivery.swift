import CoxswainCore
import Foundation

/// What came of one attempt to deliver a notice, whatever the platform.
public enum DeliveryOutcome: Sendable, Equatable {
    /// `nextTurn`: another notice of the job became due by it.
    case delivered(nextTurn: Bool)
    /// The platform said "later" (429): tried again then, not counted as a failed attempt.
    case postponed(until: Date)
    case retrying(String)
    case failed(String)
}

/// A chat platform's delivery of the outbox (its copy of every notice): the notifier runs one
/// per configured platform, each sending only its own platform's rows.
public protocol NoticeDelivery: Sendable {
    /// The outbox's name for the platform: `slack`, `mattermost`.
    var platform: String { get }
    /// Sends one notice and records what came of it.
    func deliver(_ item: OutboxItem) async throws -> DeliveryOutcome
    /// Until when the platform holds some calls back, if it does.
    var rateLimitedUntil: Date? { get }
    /// Until when it takes no new post (a new job's messages are all posts), if it does not.
    var postsHeldUntil: Date? { get }
    /// Of a batch, postpones (untried) what the platform is holding back; returns the rest.
    func postponeHeld(_ batch: [OutboxItem]) async throws -> [OutboxItem]
    /// Notices whose sending was under way when the process stopped: found on the platform
    /// (recorded, not sent twice) or sent again.
    func reconcile(_ items: [OutboxItem]) async throws -> (found: Int, resent: Int)
}

/// What every platform's delivery does around its own send: edits of one message paced, the
/// outcome recorded in the outbox, a 429 postponed without counting as an attempt, a failure
/// that may pass retried with backoff (0.5 s doubling, at most a minute) until `giveUpAfter`,
/// one that will not handed to the platform (which knows whom to tell).
struct DeliveryAttempt: Sendable {
    let outbox: any OutboxStore
    let pacer: EditPacer
    let giveUpAfter: TimeInterval
    let now: @Sendable () -> Date
    /// Names the platform in what the audit trail records (`mattermost: …`); empty for Slack, as before.
    let auditPrefix: String

    func run(
        _ item: OutboxItem, send: () async throws -> MessageReference?,
        permanent: (_ reason: String, _ error: SlackDeliveryError) async throws -> DeliveryOutcome
    ) async throws -> DeliveryOutcome {
        let message = EditPacer.key(item.notice)
        if let message, let until = pacer.nextEdit(of: message, now: now()) {
            // Too soon after the last edit: newer content replaces this notice in the outbox
            // meanwhile, so the steps that end before `until` are shown by one edit.
            try await outbox.retry([item.id], error: "edits of one message are paced", notBefore: until, countsAsAttempt: false)
            return .postponed(until: until)
        }
        let error: SlackDeliveryError
        do {
            let reference = try await send()
            if let message { pacer.edited(message, at: now()) }
            return .delivered(nextTurn: try await outbox.delivered(item.id, reference: reference, now: now()))
        } catch let failure as SlackDeliveryError {
            error = failure
        }
        switch error {
        case .rateLimited(_, let seconds):
            let until = now().addingTimeInterval(TimeInterval(seconds))
            try await outbox.retry([item.id], error: error.description, notBefore: until, countsAsAttempt: false)
            return .postponed(until: until)
        case .transient(let reason):
            guard now().timeIntervalSince(item.createdAt) < giveUpAfter else {
                let text = "given up after \(Int(giveUpAfter / 3600)) h of failures: \(reason)"
                try await outbox.failed(
                    item.id, error: text, audit: AuditDraft(actor: "coxswain", event: "delivery.given_up", detail: auditPrefix + text),
                    followUps: [], now: now())
                return .failed(text)
            }
            let delay = min(60, 0.5 * pow(2, Double(min(item.attempts, 10))))
            try await outbox.retry([item.id], error: error.description, notBefore: now().addingTimeInterval(delay), countsAsAttempt: true)
            return .retrying(reason)
        case .permanent(let reason):
            return try await permanent(reason, error)
        }
    }
}
