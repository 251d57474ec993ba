import Foundation

/// An audit entry before the store ties it to its job and time.
public struct AuditDraft: Sendable, Equatable {
    public var actor: String
    public var event: String
    public var detail: String
    /// U+0000 becomes U+FFFD: PostgreSQL's text cannot hold it, and SQLite's readers stop at it,
    /// so the entry would not read back as it was hashed.
    public init(actor: String, event: String, detail: String) {
        self.actor = Self.storable(actor); self.event = Self.storable(event); self.detail = Self.storable(detail)
    }

    static func storable(_ text: String) -> String { text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text }
}

/// Whether API routers may send a model traffic in an environment.
public enum RegistryStatus: String, Sendable, Codable { case ready, disabled }

/// A registry change a step makes, committed with the step's result.
public struct RegistryUpdate: Sendable, Equatable {
    public var model: String
    public var environment: String
    public var status: RegistryStatus
    public var reason: String
    public init(model: String, environment: String, status: RegistryStatus, reason: String) {
        self.model = model; self.environment = environment; self.status = status; self.reason = reason
    }
}

/// What one transition decided: the job as it now is, and what is recorded and told with
/// it. The store commits all of it in one transaction, or none of it.
public struct JobChange: Sendable {
    public var job: Job
    public var audit: [AuditDraft]
    public var notices: [Notice]
    public var registry: RegistryUpdate?

    public init(job: Job, audit: [AuditDraft] = [], notices: [Notice] = [], registry: RegistryUpdate? = nil) {
        self.job = job; self.audit = audit; self.notices = notices; self.registry = registry
    }

    /// This change followed by `next` (made from this one's job), committed as one: the job
    /// as `next` leaves it, both audits and both notices in order (a newer version of a
    /// replaceable notice replaces the older in the outbox). Nil when both change the
    /// registry: those are committed one after the other.
    public func then(_ next: JobChange) -> JobChange? {
        guard registry == nil || next.registry == nil else { return nil }
        return JobChange(job: next.job, audit: audit + next.audit, notices: notices + next.notices, registry: registry ?? next.registry)
    }
}

/// A request about a job that changes nothing, with the reason for the person who asked.
/// The audit entry, when there is one, records the refusal.
public struct JobRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: RichText
    public var audit: AuditDraft?
    public init(_ message: RichText, audit: AuditDraft? = nil) { self.message = message; self.audit = audit }
    public var description: String { message.plainText }
}
