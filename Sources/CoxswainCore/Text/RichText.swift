import Foundation

/// Text for people, independent of the chat platform: plain words, mentions of users,
/// user groups and channels, code, emphasis, preformatted text and links. The domain
/// writes it; each front end renders it (Slack markup, a terminal).
///
/// Written with string interpolation: `"Approved by \(user: "U1"), plan \(code: "5 -> 3")"`.
public struct RichText: Sendable, Equatable, Codable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public enum Segment: Sendable, Equatable, Codable {
        case plain(String)
        case user(String)
        case userGroup(String)
        case channel(String)
        case code(String)
        case strong(String)
        case preformatted(String)
        case link(url: String, label: String)
        /// A command the reader can type, as verb and arguments (`approve 12`); each front
        /// end writes it in its own syntax (`/approve 12` in Slack, `approve 12` in a terminal).
        case command(String)
    }

    public var segments: [Segment]

    public init(segments: [Segment]) { self.segments = segments }
    public init(_ plain: String) { self.segments = plain.isEmpty ? [] : [.plain(plain)] }
    public init(stringLiteral value: String) { self.init(value) }
    public init(stringInterpolation: StringInterpolation) { self.segments = stringInterpolation.segments }

    public struct StringInterpolation: StringInterpolationProtocol {
        var segments: [Segment] = []
        public init(literalCapacity: Int, interpolationCount: Int) {}

        mutating func add(_ segment: Segment) {
            if case .plain(let text) = segment, text.isEmpty { return }
            if case .plain(let new) = segment, case .plain(let old)? = segments.last {
                segments[segments.count - 1] = .plain(old + new)
            } else {
                segments.append(segment)
            }
        }

        public mutating func appendLiteral(_ literal: String) { add(.plain(literal)) }
        public mutating func appendInterpolation(_ value: some CustomStringConvertible) { add(.plain(value.description)) }
        public mutating func appendInterpolation(_ text: RichText) { text.segments.forEach { add($0) } }
        public mutating func appendInterpolation(user id: String) { add(.user(id)) }
        public mutating func appendInterpolation(group id: String) { add(.userGroup(id)) }
        public mutating func appendInterpolation(channel id: String) { add(.channel(id)) }
        public mutating func appendInterpolation(code text: some CustomStringConvertible) { add(.code(text.description)) }
        public mutating func appendInterpolation(strong text: some CustomStringConvertible) { add(.strong(text.description)) }
        public mutating func appendInterpolation(preformatted text: String) { add(.preformatted(text)) }
        public mutating func appendInterpolation(link url: String, label: String) { add(.link(url: url, label: label)) }
        public mutating func appendInterpolation(command text: String) { add(.command(text)) }
    }

    public var isEmpty: Bool { segments.isEmpty }

    /// The text as a log, a terminal or a test reads it: users as `@U123`, channels as
    /// `#C123`, code in backticks, preformatted text on its own lines.
    public var plainText: String {
        segments.map { segment in
            switch segment {
            case .plain(let text), .strong(let text): return text
            case .user(let id): return "@\(id)"
            case .userGroup(let id): return "@\(id)"
            case .channel(let id): return "#\(id)"
            case .code(let text): return "`\(text)`"
            case .preformatted(let text): return "\n\(text)\n"
            case .link(let url, let label): return "\(label) (\(url))"
            case .command(let text): return "`\(text)`"
            }
        }.joined()
    }

    public var description: String { plainText }

    public static func + (lhs: RichText, rhs: RichText) -> RichText {
        var interpolation = StringInterpolation(literalCapacity: 0, interpolationCount: 0)
        (lhs.segments + rhs.segments).forEach { interpolation.add($0) }
        return RichText(stringInterpolation: interpolation)
    }

    public static func + (lhs: RichText, rhs: String) -> RichText { lhs + RichText(rhs) }
    public static func + (lhs: String, rhs: RichText) -> RichText { RichText(lhs) + rhs }
    public static func += (lhs: inout RichText, rhs: RichText) { lhs = lhs + rhs }
}

extension Array where Element == RichText {
    public func joined(separator: String) -> RichText {
        guard var result = first else { return RichText(segments: []) }
        for text in dropFirst() { result = result + RichText(separator) + text }
        return result
    }
}
