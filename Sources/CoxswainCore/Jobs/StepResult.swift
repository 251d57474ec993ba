import Foundation

/// How one runbook step ended, and everything the channel and the audit trail hear about it.
public struct StepResult: Sendable, Equatable {
    public struct Detail: Sendable, Equatable {
        public var title: String
        public var body: String
        public init(_ title: String, _ body: String) { self.title = title; self.body = body }
    }
    public struct Failure: Sendable, Equatable {
        /// What went wrong, in the words of the program that said so.
        public var what: String
        /// What to check or run next.
        public var hint: RichText?
    }

    public var status: StepStatus
    /// The short line after the step's title in the live message.
    public var note: String?
    /// Longer output for the live message's thread.
    public var details: [Detail] = []
    /// What the audit entry says happened (commands run, results).
    public var auditDetail: String
    public var failure: Failure?
    /// A note only the requester sees (the plan, once decided).
    public var requesterNote: RichText?
    /// A registry change the step made, recorded with its result.
    public var registry: RegistryUpdate?
    /// Audit entries beside the step's own, for what it did to something other than the
    /// release (GitOps sync suspended), so that they can be found by their own event.
    public var events: [AuditDraft] = []

    public static func succeeded(_ note: String?, audit: String, details: [Detail] = []) -> StepResult {
        StepResult(status: .succeeded, note: note, details: details, auditDetail: audit)
    }

    public static func failed(_ what: String, hint: RichText?, note: String? = nil, details: [Detail] = [], audit: String? = nil) -> StepResult {
        StepResult(status: .failed, note: note ?? "failed", details: details, auditDetail: audit ?? what, failure: Failure(what: what, hint: hint))
    }
}
