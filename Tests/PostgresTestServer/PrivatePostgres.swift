import CoxswainCore
import Foundation
import PostgresNIO

/// A PostgreSQL server of one test's own, for the fault tests: it is stopped and started
/// under load, which the shared server (every other test's) must never be.
public final class PrivatePostgres: Sendable {
    public let port: Int
    let folder: String
    let data: String

    private init(port: Int, folder: String, data: String) { self.port = port; self.folder = folder; self.data = data }

    public static func start() async throws -> PrivatePostgres {
        let (port, folder, data) = try await TestPostgres.launch()
        return PrivatePostgres(port: port, folder: folder, data: data)
    }

    /// A new empty database on it.
    public func database() async throws -> PostgresAddress {
        let name = "f_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await TestPostgres.withConnection(port: port, database: "postgres") { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: TestPostgres.logger)
        }
        return PostgresAddress(user: TestPostgres.user, host: "127.0.0.1", port: port, database: String(name), sslMode: .disable)
    }

    /// A fast shutdown: every connection is dropped, as in a failover.
    public func stop() async throws { try await TestPostgres.control(data: data, folder: folder, port: port, "stop") }

    public func start() async throws { try await TestPostgres.control(data: data, folder: folder, port: port, "start") }

    /// Stops it for good and removes its folder.
    public func remove() async {
        try? await stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
