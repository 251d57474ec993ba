import Foundation
import GRDB

/// What `coxswain migrate --to postgres://…` reads: every table that holds records, row by row
/// in batches, as JSON objects keyed by column (dates as SQLite holds them: UTC text).
extension AppDatabase {
    /// The tables that hold records, parents before the tables that refer to them. The lease
    /// and the migrations table are not records: the new database has its own.
    public static let recordTables = [
        "job", "jobStep", "approval", "jobFollower", "auditEntry", "registryEntry", "receivedRequest", "messageRef", "notice", "consoleToken",
        "watch", "createdRevision", "rolledBackFrom", "auditCheckpoint",
    ]

    public func columns(of table: String) async throws -> [String] {
        try await read("read the columns of \(table)") { db in try db.columns(in: table).map(\.name) }
    }

    public func rowCount(_ table: String) async throws -> Int {
        try await read("count the rows of \(table)") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier)") ?? 0 }
    }

    /// Up to `limit` rows after `rowid`, in rowid order: a JSON array (each key the column's
    /// name as `key` gives it), how many, and where the next page starts.
    public func exportRows(
        _ table: String, after rowid: Int64, limit: Int, key rename: @escaping @Sendable (String) -> String = { $0 }
    ) async throws -> (json: String, count: Int, last: Int64) {
        try await read("read the rows of \(table)") { db in
            let name = table.quotedDatabaseIdentifier
            let key = try db.primaryKey(table)
            let definition = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) ?? ""
            let hasRowID = !definition.uppercased().contains("WITHOUT ROWID")
            // A table without rowids (keyed by its primary key alone) is read in key order, `rowid` counting rows read.
            let rows =
                hasRowID
                ? try Row.fetchAll(
                    db, sql: "SELECT rowid AS coxswainRowID, * FROM \(name) WHERE rowid > ? ORDER BY rowid LIMIT ?", arguments: [rowid, limit])
                : try Row.fetchAll(
                    db, sql: "SELECT * FROM \(name) ORDER BY \(key.columns.map(\.quotedDatabaseIdentifier).joined(separator: ", ")) LIMIT ? OFFSET ?",
                    arguments: [limit, rowid])
            var objects: [[String: Any]] = []
            var last = hasRowID ? rowid : rowid + Int64(rows.count)
            for row in rows {
                var object: [String: Any] = [:]
                for (column, value) in row {
                    if column == "coxswainRowID" {
                        last = Int64.fromDatabaseValue(value) ?? last
                        continue
                    }
                    switch value.storage {
                    case .null: object[rename(column)] = NSNull()
                    case .int64(let number): object[rename(column)] = number
                    case .double(let number): object[rename(column)] = number
                    case .string(let text): object[rename(column)] = text
                    case .blob: throw ExportFailure(table: table, column: column)
                    }
                }
                objects.append(object)
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
            return (String(decoding: data, as: UTF8.self), rows.count, last)
        }
    }
}

/// A value Coxswain never stores (binary data) found where a record was expected.
public struct ExportFailure: Error, CustomStringConvertible {
    public let table: String
    public let column: String
    public var description: String { "\(table).\(column) holds binary data, which no Coxswain version writes; the database is not Coxswain's as written" }
}
