import Foundation
import NIOCore
import PostgresNIO

/// A value the store binds, and can bind as an element of an array.
protocol ColumnValue: PostgresNonThrowingEncodable {
    /// PostgreSQL's type for an array of these.
    static var arrayType: PostgresDataType { get }
}

extension String: ColumnValue { static var arrayType: PostgresDataType { .textArray } }
extension Int: ColumnValue { static var arrayType: PostgresDataType { .int8Array } }
extension Int64: ColumnValue { static var arrayType: PostgresDataType { .int8Array } }
extension Bool: ColumnValue { static var arrayType: PostgresDataType { .boolArray } }
extension Stamp: ColumnValue { static var arrayType: PostgresDataType { .timestamptzArray } }

/// One column of many rows, bound as one array parameter: `INSERT … SELECT … FROM unnest($1, $2, …)`
/// writes any number of rows with one statement text, which the server parses and plans once per
/// connection (a prepared statement), where a multi-row VALUES list was a new statement for
/// every group size (Benchmarks/README.md, "The webhook on PostgreSQL").
///
/// PostgresNIO's own arrays cannot hold NULL; this one can (PostgreSQL's binary array format:
/// a NULL element is a length of -1).
struct ColumnArray: PostgresDynamicTypeEncodable {
    let psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .binary }
    private let elementType: PostgresDataType
    private var elements = ByteBuffer()
    private(set) var count: Int32 = 0
    private var hasNull = false

    init<T: ColumnValue>(of type: T.Type) {
        psqlType = T.arrayType
        elementType = T.psqlType
    }

    init<T: ColumnValue>(_ values: [T?]) {
        self.init(of: T.self)
        for value in values { append(value) }
    }

    mutating func append<T: ColumnValue>(_ value: T?) {
        precondition(T.psqlType == elementType, "a \(T.psqlType) in a column of \(elementType)")
        count += 1
        guard let value else {
            hasNull = true
            elements.writeInteger(-1, as: Int32.self)
            return
        }
        let lengthAt = elements.writerIndex
        elements.writeInteger(0, as: Int32.self)
        value.encode(into: &elements, context: .default)
        elements.setInteger(Int32(elements.writerIndex - lengthAt - 4), at: lengthAt)
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeInteger(count == 0 ? 0 : 1, as: Int32.self)  // dimensions: none for an empty array
        buffer.writeInteger(hasNull ? 1 : 0, as: Int32.self)
        buffer.writeInteger(elementType.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(count)
        buffer.writeInteger(1, as: Int32.self)  // the first index
        buffer.writeImmutableBuffer(elements)
    }
}

/// Where a row's columns go, in one order: bind parameters for one row, or arrays for many.
protocol ColumnSink {
    mutating func add<T: ColumnValue>(_ name: String, _ value: T?)
}

/// Columns as bind parameters of one row, and their names.
struct RowBindings: ColumnSink {
    var names: [String] = []
    var bindings = PostgresBindings()

    mutating func add<T: ColumnValue>(_ name: String, _ value: T?) {
        names.append(name)
        bindings.append(value)
    }
}

/// Columns as arrays, a row at a time (`nextRow()` before each).
struct ColumnArrays: ColumnSink {
    private(set) var names: [String] = []
    private(set) var arrays: [ColumnArray] = []
    private var column = 0

    mutating func nextRow() { column = 0 }

    mutating func add<T: ColumnValue>(_ name: String, _ value: T?) {
        if column == arrays.count {
            names.append(name)
            arrays.append(ColumnArray(of: T.self))
        }
        precondition(names[column] == name, "column \(name) where \(names[column]) was")
        arrays[column].append(value)
        column += 1
    }
}
