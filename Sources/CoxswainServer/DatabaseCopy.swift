import CoxswainCore
import CoxswainPostgresStore
import CoxswainStore
import Foundation

/// `coxswain migrate --to postgres://…`: the records of an SQLite database (jobs, steps,
/// approvals, the audit trail, the registry, console tokens, messages, watches) copied into an
/// empty PostgreSQL database, ids kept, in one transaction that commits only when every table
/// holds exactly the rows the SQLite database holds.
public enum DatabaseCopy {
    public struct Table: Sendable, Equatable {
        public let name: String
        public let rows: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// SQLite's column names as PostgreSQL's schema spells them: folded to lower case, and
    /// `user` (a reserved word there) is `username`.
    static func postgresName(_ column: String) -> String { column == "user" ? "username" : column.lowercased() }

    public static func copy(from sqlite: AppDatabase, to postgres: PostgresStore, batch: Int = 500) async throws -> [Table] {
        let tables = AppDatabase.recordTables
        return try await postgres.importing(tables: tables) { importer in
            var copied: [Table] = []
            for table in tables {
                // A column PostgreSQL has no place for would be dropped without a word: refuse instead.
                let columns = try await sqlite.columns(of: table).map(postgresName)
                let missing = Set(columns).subtracting(try await importer.columns(of: table))
                guard missing.isEmpty else {
                    throw Failure(
                        description: "PostgreSQL's \(table) has no column \(missing.sorted().joined(separator: ", ")): "
                            + "the SQLite database was written by a newer Coxswain; copy it with that version")
                }
                var after: Int64 = 0
                var rows = 0
                while true {
                    let page = try await sqlite.exportRows(table, after: after, limit: batch, key: postgresName)
                    guard page.count > 0 else { break }
                    rows += try await importer.insert(table, columns: columns, json: page.json)
                    after = page.last
                }
                let expected = try await sqlite.rowCount(table)
                let landed = try await importer.count(table)
                guard rows == expected, landed == expected else {
                    throw Failure(
                        description: "\(table): SQLite holds \(expected) rows, \(landed) arrived; nothing was committed. "
                            + "Is a server still writing to the SQLite database? Stop it first.")
                }
                copied.append(Table(name: table, rows: expected))
            }
            return copied
        }
    }
}
