import CoxswainCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A point in time as the store keeps it: to the millisecond, as the SQLite store does, so a
/// value returned without reading it back equals what a read gives. PostgresNIO's own `Date`
/// coding truncates to the microsecond, and a decoded date does not always encode to the same
/// microsecond again; this one rounds once and decodes to the same `Date` every time.
struct Stamp: PostgresNonThrowingEncodable, PostgresDecodable, Sendable {
    var date: Date

    init(_ date: Date) { self.date = Self.rounded(date) }

    /// `date` as the store gives it back.
    static func rounded(_ date: Date) -> Date { Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000) }

    /// Microseconds from 1970 to 2000, PostgreSQL's epoch.
    private static let epochOffset: Int64 = 946_684_800_000_000

    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        byteBuffer.writeInteger(milliseconds * 1000 - Self.epochOffset)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz || type == .timestamp, format == .binary, let microseconds = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        let sinceEpoch = microseconds + Self.epochOffset
        let milliseconds = Double(sinceEpoch / 1000) + (sinceEpoch % 1000 >= 500 ? 1 : 0)
        date = Date(timeIntervalSince1970: milliseconds / 1000)
    }
}

/// The columns of one result row, by name. PostgreSQL folds unquoted names to lower case,
/// so `row["jobID"]` reads the column `jobid`; a missing column is an error, not a crash.
struct Fields {
    let row: PostgresRandomAccessRow

    func callAsFunction<T: PostgresDecodable>(_ name: String, _ type: T.Type = T.self) throws -> T {
        let column = name.lowercased()
        guard row.contains(column) else { throw MissingColumn(name: column) }
        return try row[column].decode(T.self)
    }

    func date(_ name: String) throws -> Date { try self(name, Stamp.self).date }
    func date(ifAny name: String) throws -> Date? { try self(name, Stamp?.self)?.date }

    /// A text column holding one of an enumeration's raw values.
    func value<T: RawRepresentable>(_ name: String, _ type: T.Type = T.self) throws -> T where T.RawValue == String {
        let text = try self(name, String.self)
        guard let value = T(rawValue: text) else { throw UnexpectedValue(column: name, value: text) }
        return value
    }

    struct MissingColumn: Error, CustomStringConvertible {
        let name: String
        var description: String { "the result has no column \(name)" }
    }

    struct UnexpectedValue: Error, CustomStringConvertible {
        let column: String
        let value: String
        var description: String { "the column \(column) holds \"\(value)\", which this version of Coxswain does not know" }
    }
}

extension PostgresConnection {
    /// Queries are not logged: their values may be anything a person typed.
    static let quiet = Logger(label: "coxswain.postgres.query", factory: { _ in SwiftLogNoOpLogHandler() })

    func rows(_ query: PostgresQuery) async throws -> [Fields] {
        try await self.query(query, logger: Self.quiet).collect().map { Fields(row: $0.makeRandomAccess()) }
    }

    /// Runs a statement; with `RETURNING`, how many rows it returned is how many it changed.
    @discardableResult
    func run(_ query: PostgresQuery) async throws -> Int {
        try await self.query(query, logger: Self.quiet).collect().count
    }

    func all<T: PostgresDecodable>(_ query: PostgresQuery, _ type: T.Type) async throws -> [T] {
        try await self.query(query, logger: Self.quiet).collect().map { try $0.decode(T.self) }
    }

    func one<T: PostgresDecodable>(_ query: PostgresQuery, _ type: T.Type) async throws -> T? {
        try await all(query, T.self).first
    }
}
