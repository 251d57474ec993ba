import Foundation
import Yams

/// The shape a YAML file must have: which keys exist where, and which values are lists or
/// mappings. Checked before anything is decoded, so a typo (`chanels:`) stops start-up
/// instead of being ignored, which would fail open.
public indirect enum YAMLShape: Sendable {
    /// A string, number or boolean.
    case scalar
    /// A list of values of one shape.
    case list(YAMLShape, example: String)
    /// A mapping with these keys only.
    case fields([String: YAMLShape])
    /// A mapping whose keys are names chosen by the user (releases, roles), each value of one shape.
    case named(YAMLShape, example: String)

    /// A place in the file that does not have the expected shape.
    public struct Mismatch: Error, Equatable, Sendable {
        public var path: String
        public var line: Int
        public var column: Int
        public var problem: String
    }

    /// The first mismatch in `node`, walking the file in order.
    public func check(_ node: Node, path: [String] = []) -> Mismatch? {
        let dotted = path.joined(separator: ".")
        func mismatch(_ problem: String, at node: Node) -> Mismatch {
            Mismatch(path: dotted.isEmpty ? "(top level)" : dotted, line: (node.mark?.line ?? 0), column: (node.mark?.column ?? 0), problem: problem)
        }
        switch self {
        case .scalar:
            guard node.scalar != nil else { return mismatch("must be a single value, not a \(node.kindName)", at: node) }
            return nil
        case .list(let element, let example):
            guard let items = node.sequence else { return mismatch("must be a list, e.g. \(example)", at: node) }
            for (index, item) in items.enumerated() {
                if let found = element.check(item, path: path + [String(index)]) { return found }
            }
            return nil
        case .fields(let fields):
            guard let mapping = node.mapping else { return mismatch("must be a mapping (key: value)", at: node) }
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? ""
                guard let shape = fields[key] else {
                    let nearest = Self.nearest(to: key, in: Array(fields.keys))
                    let hint = nearest.map { "; did you mean `\($0)`?" } ?? "; settings here: \(fields.keys.sorted().joined(separator: ", "))"
                    let full = (path + [key]).joined(separator: ".")
                    return Mismatch(
                        path: full, line: keyNode.mark?.line ?? 0, column: keyNode.mark?.column ?? 0,
                        problem: "`\(full)` is not a setting\(hint)")
                }
                if let found = shape.check(value, path: path + [key]) { return found }
            }
            return nil
        case .named(let element, let example):
            guard let mapping = node.mapping else { return mismatch("must be a mapping of names, e.g. \(example)", at: node) }
            for (keyNode, value) in mapping {
                if let found = element.check(value, path: path + [keyNode.string ?? ""]) { return found }
            }
            return nil
        }
    }

    /// The candidate closest to `word` by edit distance, when it is close enough to be a typo.
    public static func nearest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        guard let best = scored.first, best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension Node {
    var kindName: String {
        switch self {
        case .scalar: return "single value"
        case .mapping: return "mapping"
        case .sequence: return "list"
        case .alias: return "alias"
        }
    }

    /// Where a dotted path points in the document, to give decoding errors a line.
    func node(at path: [String]) -> Node? {
        var current: Node? = self
        for key in path {
            if let index = Int(key), let items = current?.sequence, index < items.count {
                current = items[index]
            } else {
                current = current?.mapping?[key]
            }
        }
        return current
    }
}
