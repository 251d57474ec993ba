import Foundation
import Yams

/// Decodes a composed YAML document into a `Decodable`, the way Yams's `YAMLDecoder` does for what the
/// configuration uses (mappings, sequences, strings, whole numbers, booleans, nulls), with the same errors.
///
/// Why not `YAMLDecoder`: every mapping it decodes compares its keys with nodes tagged by Yams's default
/// resolver, whose seven NSRegularExpressions map ICU into the process for good (~7 MB resident in a
/// server that is otherwise idle). Scalars are converted by Yams's own `ScalarConstructible` rules.
struct YAMLNodeDecoder: Decoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: Node, codingPath: [any CodingKey] = []) {
        self.node = node
        self.codingPath = codingPath
    }

    static func decode<T: Decodable>(_ type: T.Type, from node: Node) throws -> T {
        try YAMLNodeDecoder(node: node).decodeValue(type)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let mapping = node.mapping else { throw mismatch(Node.Mapping.self) }
        return KeyedDecodingContainer(Keyed<Key>(decoder: self, mapping: mapping))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let sequence = node.sequence else { throw mismatch(Node.Sequence.self) }
        return Unkeyed(decoder: self, nodes: Array(sequence))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValue(decoder: self) }

    func child(_ node: Node, key: any CodingKey) -> YAMLNodeDecoder {
        YAMLNodeDecoder(node: node, codingPath: codingPath + [key])
    }

    /// Scalars through Yams's rules (`yes`, `0x1F`, `1_000` as Yams reads them); everything else by its own `init(from:)`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        guard let constructible = type as? any ScalarConstructible.Type else { return try T(from: self) }
        guard case .scalar(let scalar) = node else { throw mismatch(Node.Scalar.self) }
        guard let value = constructible.construct(from: scalar) as? T else {
            throw DecodingError.typeMismatch(
                type, .init(codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(Node.Scalar.self) instead."))
        }
        return value
    }

    var isNull: Bool { node.scalar.flatMap { NSNull.construct(from: $0) } != nil }

    func mismatch(_ expected: Any.Type) -> DecodingError {
        .typeMismatch(expected, .init(codingPath: codingPath, debugDescription: "Expected to decode \(expected) but found something else."))
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: YAMLNodeDecoder
        let mapping: Node.Mapping
        var codingPath: [any CodingKey] { decoder.codingPath }

        /// The last value written for each key, as Yams reads a mapping with a repeated key.
        private func node(for key: Key) -> Node? {
            mapping.reversed().first { $0.key.scalar?.string == key.stringValue }?.value
        }

        var allKeys: [Key] { mapping.keys.compactMap { $0.scalar.flatMap { Key(stringValue: $0.string) } } }
        func contains(_ key: Key) -> Bool { node(for: key) != nil }

        private func child(_ key: Key) throws -> YAMLNodeDecoder {
            guard let node = node(for: key) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
            }
            return decoder.child(node, key: key)
        }

        func decodeNil(forKey key: Key) throws -> Bool { try child(key).isNull }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let decoder: YAMLNodeDecoder
        let nodes: [Node]
        private(set) var currentIndex = 0

        init(decoder: YAMLNodeDecoder, nodes: [Node]) {
            self.decoder = decoder
            self.nodes = nodes
        }

        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { nodes.count }
        var isAtEnd: Bool { currentIndex >= nodes.count }

        private mutating func next<T>(_ type: T.Type) throws -> YAMLNodeDecoder {
            let key = IndexKey(index: currentIndex)
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [key], debugDescription: "Unkeyed container is at end."))
            }
            currentIndex += 1
            return decoder.child(nodes[key.index], key: key)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, decoder.child(nodes[currentIndex], key: IndexKey(index: currentIndex)).isNull else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decodeValue(type) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next(KeyedDecodingContainer<NestedKey>.self).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try next((any UnkeyedDecodingContainer).self).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder { try next((any Decoder).self) }
    }

    struct SingleValue: SingleValueDecodingContainer {
        let decoder: YAMLNodeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.isNull }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
    }

    struct IndexKey: CodingKey {
        let index: Int
        init(index: Int) { self.index = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.index = intValue }
        var stringValue: String { "Index \(index)" }
        var intValue: Int? { index }
    }
}
