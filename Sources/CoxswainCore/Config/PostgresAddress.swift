import Foundation

/// Where a PostgreSQL store is: `database: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE]`.
/// The password is never part of it: it comes from `COXSWAIN_DATABASE_PASSWORD` or the file
/// `COXSWAIN_DATABASE_PASSWORD_FILE` names, so the configuration file holds no secret.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is protected. Without `sslmode` it is `verify-full`: a database
    /// reached over a network gets TLS with its certificate and host name checked, unless
    /// the configuration says otherwise.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable
        /// TLS, with the server's certificate not checked.
        case require
        /// TLS, the certificate checked against the system's CAs (or `sslrootcert`) and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    /// A PEM file of CAs to check the server's certificate with, instead of the system's.
    public var rootCertificate: String?

    public init(user: String, host: String, port: Int = 5432, database: String, sslMode: SSLMode = .verifyFull, rootCertificate: String? = nil) {
        self.user = user; self.host = host; self.port = port; self.database = database; self.sslMode = sslMode; self.rootCertificate = rootCertificate
    }

    /// Whether `database:` names PostgreSQL rather than an SQLite file.
    public static func isPostgres(_ text: String) -> Bool { text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") }

    /// Parses the address, or says what is wrong with it and what is accepted.
    public static func parse(_ text: String) -> Result<PostgresAddress, PostgresAddressError> {
        let example = "postgres://coxswain@db.example.internal:5432/coxswain?sslmode=verify-full"
        func fail(_ problem: String) -> Result<PostgresAddress, PostgresAddressError> {
            .failure(PostgresAddressError(problem: "\(problem). Example: \(example)"))
        }
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            return fail("is not a postgres:// URL")
        }
        if components.password != nil {
            return fail("must not contain a password; set COXSWAIN_DATABASE_PASSWORD or COXSWAIN_DATABASE_PASSWORD_FILE instead")
        }
        guard let user = components.user, !user.isEmpty else { return fail("names no user (postgres://USER@HOST/DATABASE)") }
        guard let host = components.host, !host.isEmpty else { return fail("names no host") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { return fail("has port \(port), which is not between 1 and 65535") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { return fail("names no database (the path after the host, one segment)") }
        var address = PostgresAddress(user: user, host: host, port: port, database: database)
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    let accepted = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    return fail("has sslmode=\(item.value ?? ""); accepted: \(accepted)")
                }
                address.sslMode = mode
            case "sslrootcert":
                guard let file = item.value, !file.isEmpty else { return fail("has an empty sslrootcert; give the path of a PEM file of CAs") }
                address.rootCertificate = file
            default:
                return fail("has the parameter \(item.name), which Coxswain does not use; accepted: sslmode, sslrootcert")
            }
        }
        if address.rootCertificate != nil, address.sslMode == .disable { return fail("has sslrootcert with sslmode=disable, which uses no certificate") }
        return .success(address)
    }

    /// The address as written, without secrets (it has none): safe for logs and errors.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(hostPart):\(port)/\(database)"
    }
}

public struct PostgresAddressError: Error, Equatable, CustomStringConvertible {
    public let problem: String
    public var description: String { problem }
}
