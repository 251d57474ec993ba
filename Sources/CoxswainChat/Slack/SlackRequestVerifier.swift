import CoxswainCore
import Crypto
import Foundation

/// Checks that a request really came from Slack, as Slack documents it: HMAC-SHA256 with
/// the signing secret over `v0:TIMESTAMP:RAW_BODY`, compared in constant time, and a
/// timestamp no more than five minutes from now (replays are refused).
public struct SlackRequestVerifier: Sendable {
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case missingHeaders
        case malformedTimestamp
        case stale(ageSeconds: Int64)
        case badSignature
        /// No signing secret is configured (Socket Mode): nothing posted can be trusted.
        case noSecret

        public var description: String {
            switch self {
            case .missingHeaders: return "X-Slack-Signature or X-Slack-Request-Timestamp missing"
            case .malformedTimestamp: return "X-Slack-Request-Timestamp is not a Unix time in seconds"
            case .stale(let age): return "timestamp is \(age)s from now (limit 300s)"
            case .badSignature: return "signature does not match"
            case .noSecret: return "no signing secret is configured (Socket Mode takes no requests over HTTP)"
            }
        }
    }

    private let secret: Data
    private let now: @Sendable () -> Date
    private let tolerance: TimeInterval = 300

    public init(signingSecret: String, now: @escaping @Sendable () -> Date) {
        self.secret = Data(signingSecret.utf8)
        self.now = now
    }

    public func verify(body: Data, timestamp: String?, signature: String?) throws(Rejection) {
        // An empty key would let anyone sign: refuse everything instead.
        guard !secret.isEmpty else { throw .noSecret }
        guard let timestamp, let signature else { throw .missingHeaders }
        // Digits only and at most 12 of them (Unix seconds until the year 33658): the age
        // below can then never overflow, whatever a client puts in the header.
        guard !timestamp.isEmpty, timestamp.utf8.count <= 12, timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let seconds = Int64(timestamp)
        else { throw .malformedTimestamp }
        let nowSeconds = Int64(now().timeIntervalSince1970.rounded(.down))
        let age = nowSeconds - seconds
        guard age.magnitude <= UInt64(tolerance) else { throw .stale(ageSeconds: age) }
        guard signature.hasPrefix("v0="), let mac = Hex.bytes(String(signature.dropFirst(3))).map({ Data($0) }) else { throw .badSignature }
        var signed = Data("v0:\(timestamp):".utf8)
        signed.append(body)
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: SymmetricKey(data: secret)) else { throw .badSignature }
    }

    /// What Slack would send for `body` at `timestamp`; used by tests and the benchmark.
    public static func signature(signingSecret: String, timestamp: String, body: Data) -> String {
        var signed = Data("v0:\(timestamp):".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(signingSecret.utf8)))
        return "v0=" + Hex.string(mac)
    }
}
