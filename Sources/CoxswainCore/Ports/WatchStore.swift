import Foundation

/// Watches after changes. Every method is one transaction; a watch's state, its audit
/// entries and the notices about it are committed together.
public protocol WatchStore: Sendable {
    /// Starts the watch of a job unless the job already has one (then nil): a restart, or a
    /// second attempt after a store fault, never watches twice.
    func startWatch(_ watch: ModelWatch, audit: AuditDraft, notices: [Notice], now: Date) async throws -> ModelWatch?
    func saveWatch(_ watch: ModelWatch, audit: [AuditDraft], notices: [Notice], now: Date) async throws
    /// Watches still watching, soonest check first.
    func activeWatches() async throws -> [ModelWatch]
    func watch(jobID: Int64) async throws -> ModelWatch?
    /// Succeeded jobs that finished after `since` and have no watch: what a crash between a
    /// job's end and its watch's start left behind.
    func unwatchedSucceededJobs(since: Date) async throws -> [Job]
}
