import Crypto
import Foundation

/// The Ed25519 key that signs checkpoints. Kept as one line of base64 (the 32-byte seed) in a
/// file or an environment variable, never in the configuration file or the database.
public struct AuditSigningKey: Sendable {
    /// The seed: swift-crypto's key types are not `Sendable`, so the key is made again to sign.
    let raw: Data
    public let publicKey: AuditPublicKey

    public static func generate() -> AuditSigningKey { AuditSigningKey(key: Curve25519.Signing.PrivateKey()) }

    /// Reads the base64 seed `coxswain audit keygen` wrote; surrounding whitespace is ignored.
    public init(base64 text: String) throws(AuditKeyError) {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data)
        else { throw AuditKeyError("not an audit signing key: expected the one line of base64 (32 bytes) that `coxswain audit keygen` writes") }
        self.init(key: key)
    }

    init(key: Curve25519.Signing.PrivateKey) {
        raw = key.rawRepresentation
        publicKey = AuditPublicKey(key: key.publicKey)
    }

    public var base64: String { raw.base64EncodedString() }

    func sign(_ data: Data) throws -> String { try Curve25519.Signing.PrivateKey(rawRepresentation: raw).signature(for: data).base64EncodedString() }
}

/// The public half, printed by `coxswain audit keygen` for safekeeping and given to
/// `coxswain audit verify --public-key`.
public struct AuditPublicKey: Sendable {
    let raw: Data

    public init(base64 text: String) throws(AuditKeyError) {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: data)
        else { throw AuditKeyError("not an audit public key: expected the one line of base64 (32 bytes) that `coxswain audit keygen` printed") }
        raw = key.rawRepresentation
    }

    init(key: Curve25519.Signing.PublicKey) { raw = key.rawRepresentation }

    public var base64: String { raw.base64EncodedString() }

    func isValidSignature(_ signature: String, for data: Data) -> Bool {
        guard let bytes = Data(base64Encoded: signature), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(bytes, for: data)
    }
}

public struct AuditKeyError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
