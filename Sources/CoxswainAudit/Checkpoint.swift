import CoxswainCore
import Crypto
import Foundation

/// A signed statement that the audit trail of one installation reached entry `seq` with
/// `hash` at `time`, extending the checkpoint before it (`previous`, the SHA-256 of its line;
/// `AuditChain.genesis` for the first). Published off the machine as one line of text:
///
///     coxswain-checkpoint v1 INSTALLATION SEQ HASH TIME PREVIOUS SIGNATURE
///
/// The signature is Ed25519 over everything before it, so a trail rewritten as a whole no
/// longer matches what was published, and a published line cannot be forged without the key.
public struct Checkpoint: Sendable, Equatable {
    public static let prefix = "coxswain-checkpoint v1"

    public var installation: String
    public var seq: Int64
    public var hash: String
    public var time: Date
    public var previous: String
    public var signature: String

    /// What is signed.
    public var body: String {
        "\(Self.prefix) \(installation) \(seq) \(hash) \(Self.format(time)) \(previous)"
    }

    public var line: String { "\(body) \(signature)" }

    /// What the next checkpoint names as its `previous`.
    public var lineHash: String { Self.hash(ofLine: line) }

    public static func hash(ofLine line: String) -> String { Hex.string(SHA256.hash(data: Data(line.utf8))) }

    public static func sign(installation: String, head: AuditHead, time: Date, previous: String, key: AuditSigningKey) throws -> Checkpoint {
        let second = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
        var checkpoint = Checkpoint(installation: installation, seq: head.seq, hash: head.hash, time: second, previous: previous, signature: "")
        checkpoint.signature = try key.sign(Data(checkpoint.body.utf8))
        return checkpoint
    }

    /// Whether `key` signed this checkpoint.
    public func isSigned(by key: AuditPublicKey) -> Bool {
        key.isValidSignature(signature, for: Data(body.utf8))
    }

    /// An installation's name: what a line of text can carry without quoting.
    public static func isValidInstallation(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// Parses one line; the checkpoint may sit inside other text (a chat message's code span).
    public static func parse(_ text: String) -> Result<Checkpoint, CheckpointParseError> {
        guard let start = text.range(of: prefix) else { return .failure(.notACheckpoint) }
        let words = text[start.upperBound...].split(separator: " ", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
        guard words.count >= 6 else { return .failure(.malformed("it has \(words.count) of the 6 fields after \"\(prefix)\"")) }
        guard isValidInstallation(words[0]) else { return .failure(.malformed("the installation \"\(words[0])\" is not a name")) }
        guard let seq = Int64(words[1]), seq > 0 else { return .failure(.malformed("the sequence \"\(words[1])\" is not a positive number")) }
        guard isHash(words[2]), isHash(words[4]) else { return .failure(.malformed("a hash is not 64 hexadecimal digits")) }
        guard let time = parseTime(words[3]) else { return .failure(.malformed("the time \"\(words[3])\" is not like 2026-12-05T09:00:00Z")) }
        return .success(Checkpoint(installation: words[0], seq: seq, hash: words[2], time: time, previous: words[4], signature: words[5]))
    }

    static func isHash(_ text: String) -> Bool { text.utf8.count == 64 && Hex.bytes(text) != nil && text == text.lowercased() }

    static func format(_ time: Date) -> String { time.formatted(.iso8601) }

    static func parseTime(_ text: String) -> Date? { try? Date.ISO8601FormatStyle().parse(text) }
}

public enum CheckpointParseError: Error, Equatable, CustomStringConvertible {
    case notACheckpoint
    case malformed(String)

    public var description: String {
        switch self {
        case .notACheckpoint: "not a checkpoint line (they start with \"\(Checkpoint.prefix)\")"
        case .malformed(let why): "not a valid checkpoint: \(why)"
        }
    }
}
