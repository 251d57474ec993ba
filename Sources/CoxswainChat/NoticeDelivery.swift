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
    /// Of a batch, postpones (untried) what the platform is holding back; returns the rest.
    func postponeHeld(_ batch: [OutboxItem]) async throws -> [OutboxItem]
    /// Notices whose sending was under way when the process stopped: found on the platform
    /// (recorded, not sent twice) or sent again.
    func reconcile(_ items: [OutboxItem]) async throws -> (found: Int, resent: Int)
}
