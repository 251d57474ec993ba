import CoxswainCore
import Foundation
import Logging
import PostgresNIO
import Synchronization
import _ConnectionPoolModule

/// The store on PostgreSQL, for several replicas sharing one database: the same ports as
/// the SQLite store (`AppDatabase`), with the same guarantees (a job change, its audit entries
/// and notices in one transaction; stale versions refused; one running job per release and
/// per model and environment, refused by the database itself).
///
/// Transactions run at READ COMMITTED. Where SQLite's single writer made an order for free,
/// it is made here explicitly: a release's rollback requests (which may join an open job) are
/// serialised by an advisory lock on the release, a job's notices by a lock on its row, and the
/// partial unique indexes stay the last word on what runs.
public final class PostgresStore: Sendable {
    let connections: PostgresConnections
    /// `postgres://USER@HOST:PORT/DB`, never with a password; every error names it.
    public var location: String { connections.location }
    let logger: Logger
    /// New jobs with nothing to join, written in groups.
    let intake = IntakeGroup()
    private let counters = Mutex((writes: 0, reads: 0))
    private let lastWrite = Mutex<StoreFailure?>(nil)
    let noticePlatforms = NoticePlatforms()

    /// The front ends that deliver notices (`slack`, and `mattermost` when configured): each
    /// gets its own copy of every notice written with a change.
    public var platforms: [String] { noticePlatforms.names }
    public func deliverNotices(to platforms: [String]) { noticePlatforms.deliver(to: platforms) }
    public func holdPosts(on platform: String, until: Date) { noticePlatforms.holdPosts(on: platform, until: until) }

    /// Connects and runs the migrations not yet applied (one replica at a time, under an
    /// advisory lock). `readOnly`: every session is read-only and nothing is migrated; a
    /// database of another version is refused. `connectionWait`: how long a transaction waits
    /// for a connection (all busy, or the database unreachable) before it fails; callers with
    /// a deadline of their own (the webhook) stop waiting sooner.
    public static func open(
        _ address: PostgresAddress, password: String?, readOnly: Bool = false, connectionWait: Duration = .seconds(30), logger: Logger
    ) async throws -> PostgresStore {
        let connections = try PostgresConnections(address: address, password: password, readOnly: readOnly, wait: connectionWait, logger: logger)
        let store = PostgresStore(connections: connections, logger: logger)
        do {
            try await connections.firstContact()
            if readOnly { try await store.checkSchema() } else { try await store.migrate() }
        } catch let failure as StoreFailure {
            store.close()
            throw failure
        } catch {
            store.close()
            throw StoreFailure(postgres: error, location: address.description, operation: "connect")
        }
        return store
    }

    init(connections: PostgresConnections, logger: Logger) {
        self.connections = connections
        self.logger = logger
    }

    /// Closes every connection; the store cannot be used afterwards.
    public func close() { connections.close() }

    // MARK: access

    /// One transaction that writes. A caller that stopped waiting (`WriteClaim`) gets a
    /// rollback instead of a commit behind its back; failures become a `StoreFailure` naming
    /// the database and `operation`.
    /// `alone`: `body` is one statement, committed by itself when no caller may give up.
    func write<T: Sendable>(
        _ operation: String, alone: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        counters.withLock { $0.writes += 1 }
        let claim = WriteClaim.current
        do {
            let value = try await (alone && claim == nil ? connections.withConnection { try await body($0) } : transaction(claim: claim, body))
            lastWrite.withLock { $0 = nil }
            return value
        } catch let conflict as StoreConflict {
            claim?.reopen()
            lastWrite.withLock { $0 = nil }
            throw conflict
        } catch let failure as StoreFailure {
            claim?.reopen()
            throw failure
        } catch  where Self.isDatabaseError(error) {
            claim?.reopen()
            let failure = StoreFailure(postgres: error, location: location, operation: operation)
            if failure.kind != .cancelled { lastWrite.withLock { $0 = failure } }
            throw failure
        }
    }

    /// One transaction that only reads.
    /// `alone`: `body` is one statement, which sees one snapshot without a transaction.
    func read<T: Sendable>(
        _ operation: String, alone: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        counters.withLock { $0.reads += 1 }
        do {
            return try await (alone ? connections.withConnection { try await body($0) } : transaction(claim: nil, body))
        } catch let failure as StoreFailure {
            throw failure
        } catch  where Self.isDatabaseError(error) {
            throw StoreFailure(postgres: error, location: location, operation: operation)
        }
    }

    /// One statement that writes, committed by itself: BEGIN and COMMIT around it would be two
    /// more round trips (the notifier postpones each message Slack holds back this way).
    func writeStatement<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await write(operation, alone: true, body)
    }

    /// One statement that only reads, outside a transaction: BEGIN and COMMIT around it would
    /// be two more round trips on what the worker and the notifier poll.
    func look<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await read(operation, alone: true, body)
    }

    /// Runs `body` in a transaction. A failed statement or a caller that gave up rolls it back.
    private func transaction<T: Sendable>(claim: WriteClaim?, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await connections.withConnection { connection in
            try await connection.query("BEGIN", logger: PostgresConnection.quiet)
            do {
                let value = try await body(connection)
                if let claim, !claim.mayCommit() { throw CancellationError() }
                try await connection.query("COMMIT", logger: PostgresConnection.quiet)
                return value
            } catch {
                // The error that matters is the first. A connection that broke rolls back by
                // itself, and a ROLLBACK sent on it waited for ever (found by PostgresFaultTests).
                if !Self.isBroken(error) { await Self.rollBack(connection) }
                throw error
            }
        }
    }

    /// The connection itself failed (closed by the server, reset, unreachable): nothing more can be sent on it.
    static func isBroken(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        return [.connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection].contains(error.code)
    }

    /// ROLLBACK, for at most 5 s: a connection that does not answer it is closed, which ends
    /// the transaction on the server too.
    private static func rollBack(_ connection: PostgresConnection) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await connection.query("ROLLBACK", logger: PostgresConnection.quiet) }
            group.addTask {
                guard (try? await Task.sleep(for: .seconds(5))) != nil else { return }
                try? await connection.close()
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// What the database or the connection pool reported, as opposed to the caller's own
    /// errors (an unknown registry entry), which pass through as they are.
    static func isDatabaseError(_ error: any Error) -> Bool {
        error is PSQLError || error is CancellationError || error is ConnectionPoolError || error is PostgresDecodingError
            || error is Fields.MissingColumn || error is Fields.UnexpectedValue
    }

    /// Write and read transactions started so far.
    public var transactionCounts: (writes: Int, reads: Int) { counters.withLock { ($0.writes, $0.reads) } }

    /// The last write's failure, or nil when it succeeded.
    public var lastWriteFailure: StoreFailure? { lastWrite.withLock { $0 } }

    /// Answers within two seconds: `/readyz` must not hang while the database is away.
    public func isReachable() async -> Bool {
        counters.withLock { $0.reads += 1 }
        return (try? await connections.withConnection(wait: .seconds(2)) { try await $0.one("SELECT 1", Int.self) }) == 1
    }
}

extension PostgresStore: StoreHealth {}

extension Stores {
    /// Every port backed by one PostgreSQL database.
    public init(postgres store: PostgresStore) {
        self.init(
            jobs: store, outbox: store, registry: store, audit: store, lease: store, tokens: store, watches: store, retention: store, health: store)
    }
}

extension StoreFailure {
    /// A unique index refused the change (SQLSTATE 23505, kept at the end of `detail`).
    var isUniqueViolation: Bool { detail.hasSuffix("[23505]") }

    /// Classifies what PostgreSQL (through PostgresNIO) reported, by SQLSTATE class.
    init(postgres error: any Error, location: String, operation: String) {
        if error is CancellationError {
            self.init(kind: .cancelled, location: location, operation: operation, detail: "given up before it ran")
            return
        }
        if let pool = error as? ConnectionPoolError {
            // The pool gave up connecting (after a minute of failures) or was shut down.
            self.init(kind: .io, location: location, operation: operation, detail: "\(pool)")
            return
        }
        guard let error = error as? PSQLError else {
            self.init(kind: .other, location: location, operation: operation, detail: "\(error)")
            return
        }
        // PSQLError's description hides everything on purpose (queries may carry secrets):
        // the server's own message and SQLSTATE say what happened without the query.
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        let kind: Kind
        if error.code == .server {
            switch state.prefix(2) {
            case "40", "55", "57": kind = .busy  // serialization failure or deadlock, lock not available, cancelled or shutting down
            case "53": kind = .full  // insufficient resources: disk full, out of memory, too many connections
            case "08": kind = .io
            case "28", "3D": kind = .unusable  // wrong credentials, no such database
            default: kind = state == "25006" || state == "42501" ? .readOnly : .other  // a standby; no privilege
            }
        } else if error.code == .queryCancelled {
            kind = .cancelled
        } else if [.connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed, .clientClosedConnection].contains(error.code) {
            kind = .io
        } else {
            kind = .other
        }
        self.init(kind: kind, location: location, operation: operation, detail: state.isEmpty ? message : "\(message) [\(state)]")
    }
}
