import CoxswainCore
import Foundation
import PostgresNIO

/// What `coxswain migrate --to postgres://…` writes: another store's rows, copied into an
/// empty database in one transaction (all of it lands, or nothing), with each table's count
/// checked before it commits.
extension PostgresStore {
    /// One copy's transaction.
    public struct Importer: Sendable {
        let connection: PostgresConnection

        /// The table's columns, as PostgreSQL folds them (lower case).
        public func columns(of table: String) async throws -> [String] {
            try await connection.all(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table.lowercased())",
                String.self)
        }

        /// Inserts a JSON array of rows whose keys are `columns`; the table's other columns take
        /// their defaults (an id from its sequence). Returns how many rows.
        @discardableResult
        public func insert(_ table: String, columns: [String], json: String) async throws -> Int {
            let name = try Self.identifier(table)
            let list = try columns.map(Self.identifier).joined(separator: ", ")
            return try await connection.run(
                PostgresQuery(
                    unsafeSQL: "INSERT INTO \(name) (\(list)) SELECT \(list) FROM json_populate_recordset(NULL::\(name), $1::json) RETURNING 1",
                    binds: {
                        var binds = PostgresBindings(); binds.append(json); return binds
                    }()))
        }

        public func count(_ table: String) async throws -> Int {
            try await connection.one(PostgresQuery(unsafeSQL: "SELECT COUNT(*)::bigint FROM \(try Self.identifier(table))"), Int.self) ?? 0
        }

        /// Only the schema's own table names reach SQL text.
        static func identifier(_ table: String) throws -> String {
            guard !table.isEmpty, table.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "_") }) else {
                throw StoreFailure(kind: .other, location: "copy", operation: "copy \(table)", detail: "not a table name")
            }
            return table.lowercased()
        }
    }

    /// Runs `copy` in one transaction, in UTC, on a database that holds no records yet; then
    /// moves every id sequence past the ids copied. Throws, changing nothing, when the
    /// database is not empty or `copy` throws.
    public func importing<T: Sendable>(tables: [String], _ copy: @escaping @Sendable (Importer) async throws -> T) async throws -> T {
        try await write("copy the records") { db in
            try await db.run("SET LOCAL TimeZone = 'UTC'")
            let importer = Importer(connection: db)
            for table in tables where try await importer.count(table) > 0 {
                throw StoreFailure(
                    kind: .other, location: self.location, operation: "copy the records",
                    detail: "its table \(table) already holds records; copy into an empty database (CREATE DATABASE …) so nothing is mixed")
            }
            let value = try await copy(importer)
            for table in tables {
                let name = try Importer.identifier(table)
                guard try await importer.columns(of: table).contains("id"),
                    try await db.one("SELECT pg_get_serial_sequence(\(name), 'id') IS NOT NULL", Bool.self) == true
                else { continue }
                try await db.run(
                    PostgresQuery(unsafeSQL: "SELECT setval(pg_get_serial_sequence('\(name)', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \(name)"))
            }
            return value
        }
    }
}
