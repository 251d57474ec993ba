import Foundation

/// A JSON value, as the Kubernetes API stores and patches objects: the sandbox keeps every
/// object as JSON so that whatever helm and kubectl send (fields it does not model
/// included) comes back as they sent it.
public enum JSON: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public static func parse(_ data: Data) throws -> JSON { try JSONDecoder().decode(JSON.self, from: data) }

    public var data: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var int: Int? {
        switch self {
        case .int(let value): value
        case .double(let value) where value == value.rounded(): Int(exactly: value)
        case .string(let value): Int(value)
        default: nil
        }
    }
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var array: [JSON]? { if case .array(let value) = self { value } else { nil } }
    public var object: [String: JSON]? { if case .object(let value) = self { value } else { nil } }

    /// A member of an object; `.null` when absent or not an object. Setting `.null` removes it.
    public subscript(key: String) -> JSON {
        get { object?[key] ?? .null }
        set {
            var members = object ?? [:]
            // Not `members[key] = newValue == .null ? nil : newValue`: JSON takes `nil` literally (.null), so that kept the key.
            if newValue == .null { members.removeValue(forKey: key) } else { members[key] = newValue }
            self = .object(members)
        }
    }

    /// A value at a dotted path of object keys: `json[path: "metadata.labels"]`.
    public subscript(path path: String) -> JSON {
        get { path.split(separator: ".").reduce(self) { $0[String($1)] } }
        set {
            let keys = path.split(separator: ".").map(String.init)
            self = Self.setting(self, keys[...], to: newValue)
        }
    }

    private static func setting(_ value: JSON, _ keys: ArraySlice<String>, to newValue: JSON) -> JSON {
        guard let first = keys.first else { return newValue }
        var copy = value.object == nil ? JSON.object([:]) : value
        copy[first] = setting(value[first], keys.dropFirst(), to: newValue)
        return copy
    }

    /// The same value without explicit `null` members: the API server treats them as absent
    /// in whole objects (in patches they mean "remove", so patches keep them).
    public var compacted: JSON {
        switch self {
        case .object(let members): .object(members.compactMapValues { $0 == .null ? nil : $0.compacted })
        case .array(let elements): .array(elements.map(\.compacted))
        default: self
        }
    }

    /// String members of an object (labels, annotations, selectors).
    public var stringMap: [String: String] { (object ?? [:]).compactMapValues(\.string) }

    public init(_ map: [String: String]) { self = .object(map.mapValues { .string($0) }) }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(Dictionary(elements) { $1 }) }
    public init(nilLiteral: ()) { self = .null }
}
