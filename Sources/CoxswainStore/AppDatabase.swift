import CoxswainCore
import Foundation
import GRDB
import Synchronization

/// Owns the database connection and its schema; the ports (`JobStore`, `OutboxStore`, …)
/// are its extensions. SQL stays in this room, so another database (PostgreSQL, for more
/// than one replica) can stand behind the same ports.
public final class AppDatabase: Sendable {
    let writer: any DatabaseWriter
    /// The file, or `:memory:`; every error names it.
    public let location: String
    let readOnly: Bool
    let commitGroup: CommitGroup
    private let counters = Mutex(Counters())
    private let lastWrite = Mutex<StoreFailure?>(nil)
    let noticePlatforms = NoticePlatforms()

    struct Counters { var writes = 0; var reads = 0 }

    /// The front ends that deliver notices (`slack`, and `mattermost` when configured): each
    /// gets its own copy of every notice written with a change.
    public var platforms: [String] { noticePlatforms.names }
    public func deliverNotices(to platforms: [String]) { noticePlatforms.deliver(to: platforms) }
    public func holdPosts(on platform: String, until: Date) { noticePlatforms.holdPosts(on: platform, until: until) }

    /// Opens (creating if needed) the file database in WAL mode and migrates it. Writes are
    /// durable when they return (`synchronous=FULL`): an acknowledged request survives a
    /// power loss.
    public static func open(path: String) throws -> AppDatabase {
        var configuration = Configuration()
        // A short wait for another writer; longer outages are retried by the caller, which
        // can give up (the webhook) or keep trying (the worker).
        configuration.busyMode = .timeout(0.5)
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            // DatabasePool sets synchronous=NORMAL for WAL, which can lose the last commits
            // on power loss; set FULL afterwards, on the one writing connection.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            return try AppDatabase(pool, location: path, migrate: true)
        } catch let error as StoreFailure {
            throw error
        } catch {
            throw StoreFailure(error, location: path, operation: "open the database")
        }
    }

    /// Opens an existing database for reading only: nothing is created, migrated or written,
    /// so it works on a read-only copy or snapshot. A database of another version is refused.
    ///
    /// In a folder it may not write (a read-only mount, a forensic copy), SQLite cannot make
    /// the shared-memory file a write-ahead log needs. When the log is empty (the server
    /// closed cleanly, or the copy was checkpointed) everything is in the database file, which
    /// is then opened as immutable; a non-empty log without its shared-memory file cannot be
    /// read there, and the error says so and what to do.
    public static func openReadOnly(path: String) throws -> AppDatabase {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreFailure(
                kind: .unusable, location: path, operation: "open the database for reading",
                detail: "there is no database file here; `coxswain serve` or `coxswain migrate` creates it")
        }
        do {
            return try reading(path, location: path)
        } catch let failure as StoreFailure where failure.kind == .io || failure.kind == .readOnly {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard access(folder, W_OK) != 0 else { throw failure }
            let log = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            guard log == 0 else {
                throw StoreFailure(
                    kind: .unusable, location: path, operation: "open the database for reading",
                    detail: "its write-ahead log (\(path)-wal, \(log) bytes) holds changes not yet in the database file, and SQLite cannot "
                        + "read it without creating \(path)-shm in \(folder), which is read-only; copy the database with its -wal file to a "
                        + "writable folder and point the configuration's `database:` at the copy")
            }
            let uri = "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
            return try reading(uri, location: path)
        }
    }

    private static func reading(_ path: String, location: String) throws -> AppDatabase {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(2)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let database = try AppDatabase(queue, location: location, migrate: false)
            try database.checkSchema(queue)
            return database
        } catch let error as StoreFailure {
            throw error
        } catch {
            throw StoreFailure(error, location: location, operation: "open the database for reading")
        }
    }

    /// An in-memory database, for tests.
    public static func inMemory() throws -> AppDatabase {
        try AppDatabase(DatabaseQueue(), location: ":memory:", migrate: true)
    }

    init(_ writer: any DatabaseWriter, location: String, migrate: Bool) throws {
        self.writer = writer
        self.commitGroup = CommitGroup(writer: writer)
        self.location = location
        self.readOnly = !migrate
        if migrate {
            do { try Self.migrator.migrate(writer) } catch { throw StoreFailure(error, location: location, operation: "migrate the database") }
        }
    }

    private func checkSchema(_ reader: any DatabaseReader) throws {
        let (applied, complete) = try reader.read { db in
            (try Self.migrator.appliedIdentifiers(db), try Self.migrator.hasCompletedMigrations(db))
        }
        let known = Set(Self.migrator.migrations)
        if let unknown = applied.subtracting(known).sorted().first {
            throw StoreFailure(
                kind: .unusable, location: location, operation: "open the database for reading",
                detail: "it was written by a newer Coxswain (migration \(unknown)); use that version")
        }
        guard complete else {
            throw StoreFailure(
                kind: .unusable, location: location, operation: "open the database for reading",
                detail: "it is of an older version; run `coxswain migrate --config FILE` first")
        }
    }

    // MARK: access

    /// One write transaction. Failures become a `StoreFailure` naming the file and `operation`.
    func write<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        counters.withLock { $0.writes += 1 }
        let claim = WriteClaim.current
        return try await classifyingFailures(operation, claim: claim) {
            try await self.writer.write { db in
                let value = try body(db)
                // A caller that stopped waiting gets no commit behind its back.
                if let claim, !claim.mayCommit() { throw CancellationError() }
                return value
            }
        }
    }

    /// A write that shares its transaction (and its fsync) with the other grouped writes
    /// waiting at the time: the webhook's, where many requests arrive at once.
    func groupedWrite<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        counters.withLock { $0.writes += 1 }
        let claim = WriteClaim.current
        let group = commitGroup
        return try await classifyingFailures(operation, claim: claim) {
            guard let value = try await group.submit(claim: claim, { db in try body(db) }) as? T else {
                throw StoreFailure(kind: .other, location: "the database", operation: operation, detail: "a grouped write returned another type")
            }
            return value
        }
    }

    /// How many group transactions carried how many webhook writes.
    public var groupCommitCounts: (batches: Int, writes: Int) { commitGroup.counts }


    private func classifyingFailures<T: Sendable>(_ operation: String, claim: WriteClaim?, _ run: () async throws -> T) async throws -> T {
        do {
            let result = try await run()
            lastWrite.withLock { $0 = nil }
            return result
        } catch let conflict as StoreConflict {
            claim?.reopen()
            lastWrite.withLock { $0 = nil }
            throw conflict
        } catch let failure as StoreFailure {
            claim?.reopen()
            throw failure
        } catch where error is DatabaseError || error is CancellationError {
            claim?.reopen()
            // Anything else (an unknown registry entry) is the caller's own error, thrown as is.
            let failure = StoreFailure(error, location: location, operation: operation)
            if failure.kind != .cancelled { lastWrite.withLock { $0 = failure } }
            throw failure
        }
    }

    func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        counters.withLock { $0.reads += 1 }
        do {
            return try await writer.read(body)
        } catch let failure as StoreFailure {
            throw failure
        } catch {
            throw StoreFailure(error, location: location, operation: operation)
        }
    }

    /// How many write and read transactions were started, for `/metrics` and the idle check.
    public var transactionCounts: (writes: Int, reads: Int) { counters.withLock { ($0.writes, $0.reads) } }

    /// The last write's failure, or nil when it succeeded: `/readyz` reports a store that
    /// cannot write.
    public var lastWriteFailure: StoreFailure? { lastWrite.withLock { $0 } }

    /// Answers when the database can be read.
    public func isReachable() async -> Bool {
        (try? await read("check the database") { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}

extension StoreFailure {
    /// Classifies what SQLite (through GRDB) reported.
    init(_ error: any Error, location: String, operation: String) {
        if error is CancellationError {
            self.init(kind: .cancelled, location: location, operation: operation, detail: "given up before it ran")
            return
        }
        guard let database = error as? DatabaseError else {
            self.init(kind: .other, location: location, operation: operation, detail: "\(error)")
            return
        }
        let kind: Kind
        switch database.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: kind = .busy
        case .SQLITE_FULL: kind = .full
        case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_PROTOCOL: kind = .io
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH: kind = .readOnly
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: kind = .unusable
        case .SQLITE_INTERRUPT: kind = .cancelled
        default: kind = .other
        }
        self.init(kind: kind, location: location, operation: operation, detail: database.message ?? "\(database.resultCode)")
    }
}

extension AppDatabase: StoreHealth {}

extension Stores {
    /// Every port backed by one SQLite database.
    public init(sqlite database: AppDatabase) {
        self.init(
            jobs: database, outbox: database, registry: database, audit: database, lease: database, tokens: database, watches: database,
            retention: database, health: database)
    }
}
