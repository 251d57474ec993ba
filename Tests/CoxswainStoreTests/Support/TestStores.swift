import CoxswainCore
import CoxswainPostgresStore
import PostgresTestServer
@testable import CoxswainStore
import Foundation
import GRDB
import PostgresNIO

/// Every port a store implements, as the contract tests use them.
typealias StorePorts = JobStore & OutboxStore & RegistryStore & AuditStore & LeaseStore & ConsoleTokenStore & WatchStore & RetentionStore
    & StoreHealth

enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    /// SQLite always; PostgreSQL where it is installed (and in CI, where it must be).
    static var tested: [StoreKind] { TestPostgres.available ? allCases : [.sqlite] }

    var description: String { rawValue }
}

/// A store of either kind for one test, with a back door for the test's own SQL (to age
/// records, or to look at what a port does not show). The SQL the tests use is the same on
/// both: standard SQL with dates written by `literal`.
struct TestStore: Sendable {
    let kind: StoreKind
    let ports: any StorePorts
    let execute: @Sendable (String) async throws -> Void
    let integers: @Sendable (String) async throws -> [Int64]
    let strings: @Sendable (String) async throws -> [String]
    let close: @Sendable () -> Void

    static func make(_ kind: StoreKind) async throws -> TestStore {
        switch kind {
        case .sqlite:
            let db = try AppDatabase.inMemory()
            return TestStore(
                kind: kind, ports: db,
                execute: { sql in try await db.writer.write { try $0.execute(sql: sql) } },
                integers: { sql in try await db.writer.read { try Int64.fetchAll($0, sql: sql) } },
                strings: { sql in try await db.writer.read { try String.fetchAll($0, sql: sql) } },
                close: {})
        case .postgres:
            let address = try await TestPostgres.shared.freshDatabase()
            let store = try await PostgresStore.open(address, password: TestPostgres.password, logger: TestPostgres.logger)
            @Sendable func rows(_ sql: String) async throws -> [PostgresRow] {
                try await TestPostgres.withConnection(port: address.port, database: address.database) { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestPostgres.logger).collect()
                }
            }
            return TestStore(
                kind: kind, ports: store,
                execute: { sql in _ = try await rows(sql) },
                integers: { sql in try await rows(sql).map { try $0.decode(Int64.self) } },
                strings: { sql in try await rows(sql).map { try $0.decode(String.self) } },
                close: { store.close() })
        }
    }

    /// A date as a literal of this store's SQL, to the millisecond, in UTC.
    func literal(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return kind == .postgres ? "'\(formatter.string(from: date))+00'" : "'\(formatter.string(from: date))'"
    }

    func count(_ table: String) async throws -> Int {
        Int(try await integers("SELECT COUNT(*) FROM \(table)").first ?? 0)
    }
}
