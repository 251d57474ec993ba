import Foundation

/// A label selector as `?labelSelector=` carries it: `a=b,c!=d,e in (f,g),h notin (i),j,!k`.
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String), notEquals(String, String), isIn(String, Set<String>), notIn(String, Set<String>)
        case exists(String), absent(String)
    }
    let requirements: [Requirement]

    static let everything = LabelSelector(requirements: [])

    private init(requirements: [Requirement]) { self.requirements = requirements }

    init(_ text: String?) throws {
        guard let text, !text.isEmpty else {
            requirements = []
            return
        }
        var parts: [String] = []
        var current = "", depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        requirements = try parts.map(Self.requirement)
    }

    private static func requirement(_ raw: String) throws -> Requirement {
        let part = raw.trimmingCharacters(in: .whitespaces)
        func set(_ text: Substring) -> Set<String> {
            Set(text.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        if let range = part.range(of: " notin ") { return .notIn(String(part[..<range.lowerBound]), set(part[range.upperBound...])) }
        if let range = part.range(of: " in ") { return .isIn(String(part[..<range.lowerBound]), set(part[range.upperBound...])) }
        if let range = part.range(of: "!=") { return .notEquals(String(part[..<range.lowerBound]), String(part[range.upperBound...])) }
        if let range = part.range(of: "==") { return .equals(String(part[..<range.lowerBound]), String(part[range.upperBound...])) }
        if let range = part.range(of: "=") { return .equals(String(part[..<range.lowerBound]), String(part[range.upperBound...])) }
        if part.hasPrefix("!") { return .absent(String(part.dropFirst())) }
        guard !part.isEmpty, !part.contains(" ") else { throw SelectorError(text: raw) }
        return .exists(part)
    }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy {
            switch $0 {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .isIn(let key, let values): labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
            case .exists(let key): labels[key] != nil
            case .absent(let key): labels[key] == nil
            }
        }
    }
}

struct SelectorError: Error {
    let text: String
}

/// `?fieldSelector=metadata.name=x,metadata.namespace=y` (what helm and kubectl send).
struct FieldSelector: Sendable {
    let pairs: [(path: String, value: String, equal: Bool)]

    static let everything = FieldSelector(pairs: [])

    private init(pairs: [(path: String, value: String, equal: Bool)]) { self.pairs = pairs }

    init(_ text: String?) throws {
        pairs = try (text ?? "").split(separator: ",").map { raw in
            let part = String(raw)
            if let range = part.range(of: "!=") { return (String(part[..<range.lowerBound]), String(part[range.upperBound...]), false) }
            let pieces = part.replacingOccurrences(of: "==", with: "=").split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2 else { throw SelectorError(text: part) }
            return (pieces[0], pieces[1], true)
        }
    }

    func matches(_ object: JSON) -> Bool {
        pairs.allSatisfy { pair in
            let value = object[path: pair.path]
            let text = value.string ?? value.int.map(String.init) ?? ""
            return (text == pair.value) == pair.equal
        }
    }
}
