import Foundation

/// Whether the store can do its job, for `/readyz` and `/metrics`.
public protocol StoreHealth: Sendable {
    /// The last write's failure, or nil when it succeeded.
    var lastWriteFailure: StoreFailure? { get }
    func isReachable() async -> Bool
    /// Write and read transactions started so far.
    var transactionCounts: (writes: Int, reads: Int) { get }
}

/// The store's ports, as the server is given them: all from one SQLite file (`AppDatabase`)
/// or one PostgreSQL database (`PostgresStore`); `StoreContractTests` holds both to them.
public struct Stores: Sendable {
    public var jobs: any JobStore
    public var outbox: any OutboxStore
    public var registry: any RegistryStore
    public var audit: any AuditStore
    public var lease: any LeaseStore
    public var tokens: any ConsoleTokenStore
    public var watches: any WatchStore
    public var retention: any RetentionStore
    public var health: any StoreHealth

    public init(
        jobs: any JobStore, outbox: any OutboxStore, registry: any RegistryStore, audit: any AuditStore,
        lease: any LeaseStore, tokens: any ConsoleTokenStore, watches: any WatchStore, retention: any RetentionStore, health: any StoreHealth
    ) {
        self.jobs = jobs; self.outbox = outbox; self.registry = registry; self.audit = audit; self.lease = lease
        self.tokens = tokens; self.watches = watches; self.retention = retention; self.health = health
    }
}

/// Deletes what `retention:` no longer keeps, a batch at a time: each batch is its own short
/// transaction, so nothing else waits for long. A batch resumes after `cursor` (0 to start)
/// and returns where the next one resumes; `done` once it reached records newer than the cutoff.
public protocol RetentionStore: Sendable {
    /// Notices no longer pending, of jobs that finished before `cutoff` (or of no job, created before it).
    func pruneNotices(before cutoff: Date, after cursor: Int64, limit: Int) async throws -> RetentionBatch
    /// Request keys received before `cutoff`.
    func pruneRequestKeys(before cutoff: Date, after cursor: Int64, limit: Int) async throws -> RetentionBatch
}

public struct RetentionBatch: Sendable, Equatable {
    public var deleted: Int
    public var cursor: Int64
    public var done: Bool
    public init(deleted: Int, cursor: Int64, done: Bool) { self.deleted = deleted; self.cursor = cursor; self.done = done }
}
