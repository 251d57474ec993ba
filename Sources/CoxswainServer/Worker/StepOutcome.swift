import Foundation
import CoxswainCore

/// How one runbook step ended, and everything the channel and the audit trail hear about it.
struct StepOutcome: Sendable {
    var status: StepStatus
    /// The short line after the step's title in the live message.
    var note: String?
    /// Longer output for the thread: (title, preformatted body).
    var details: [(title: String, body: String)] = []
    /// What the audit entry says happened (commands run, results).
    var auditDetail: String
    /// For a failed step: what went wrong and the seed's advice.
    var failure: (what: String, hint: String?)?
    /// A note only the requester sees (the plan, once decided).
    var ephemeral: String?

    static func succeeded(_ note: String?, audit: String, details: [(title: String, body: String)] = []) -> StepOutcome {
        StepOutcome(status: .succeeded, note: note, details: details, auditDetail: audit)
    }

    static func failed(_ what: String, hint: String?, note: String? = nil, details: [(title: String, body: String)] = [], audit: String? = nil) -> StepOutcome {
        StepOutcome(status: .failed, note: note ?? "failed", details: details, auditDetail: audit ?? what, failure: (what, hint))
    }
}

/// What a job has learned so far, carried from step to step.
struct RunState: Sendable {
    var plan: RollbackPlan?
    var registryDisabled = false
    var validation: [String] = []
    /// `helm upgrade` ran (even if it failed): the release may have changed.
    var upgradeStarted = false
    /// For an upgrade: the newest revision that was deployed successfully before it, which a
    /// failed upgrade offers to roll back to.
    var lastGoodRevision: HelmRevision?
}
