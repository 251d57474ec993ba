import Foundation

/// Whether the store can do its job, for `/readyz` and `/metrics`.
public protocol StoreHealth: Sendable {
    /// The last write's failure, or nil when it succeeded.
    var lastWriteFailure: StoreFailure? { get }
    func isReachable() async -> Bool
    /// Write and read transactions started so far.
    var transactionCounts: (writes: Int, reads: Int) { get }
}

/// The store's ports, as the server is given them. One implementation (SQLite) provides all
/// of them today; see the README for how a PostgreSQL one would plug in.
public struct Stores: Sendable {
    public var jobs: any JobStore
    public var outbox: any OutboxStore
    public var registry: any RegistryStore
    public var audit: any AuditStore
    public var lease: any LeaseStore
    public var tokens: any ConsoleTokenStore
    public var watches: any WatchStore
    public var health: any StoreHealth

    public init(
        jobs: any JobStore, outbox: any OutboxStore, registry: any RegistryStore, audit: any AuditStore,
        lease: any LeaseStore, tokens: any ConsoleTokenStore, watches: any WatchStore, health: any StoreHealth
    ) {
        self.jobs = jobs; self.outbox = outbox; self.registry = registry; self.audit = audit; self.lease = lease
        self.tokens = tokens; self.watches = watches; self.health = health
    }
}
