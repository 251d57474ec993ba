import CoxswainCore
import Crypto
import Foundation

/// The console's proof of identity: a random token each person keeps (a file, an
/// environment variable); the store keeps only its SHA-256 digest.
public enum ConsoleTokens {
    /// A new token: 32 random bytes, hex.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    public static func digest(_ token: String) -> String {
        Hex.string(SHA256.hash(data: Data(token.utf8)))
    }

    /// Whether `token` is one of the tokens whose digests are given, compared in constant time.
    public static func matches(_ token: String, digests: [String]) -> Bool {
        let candidate = Array(digest(token).utf8)
        var found = false
        for stored in digests.map({ Array($0.utf8) }) where stored.count == candidate.count {
            var difference: UInt8 = 0
            for index in stored.indices { difference |= stored[index] ^ candidate[index] }
            if difference == 0 { found = true }
        }
        return found
    }
}
