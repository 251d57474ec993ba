import Foundation
import GRDB
import Logging
import PostgresNIO

/// Where the bare route keeps a request: one row, one transaction, durable when it answers.
protocol RequestInsert: Sendable {
    func insert(body: String) async throws -> Int64
}

struct SQLiteInsert: RequestInsert {
    let pool: DatabasePool

    static func open(_ path: String) async throws -> SQLiteInsert {
        let pool = try DatabasePool(path: path)
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS request (id INTEGER PRIMARY KEY, receivedAt DATETIME NOT NULL, body TEXT NOT NULL)")
        }
        return SQLiteInsert(pool: pool)
    }

    func insert(body: String) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO request (receivedAt, body) VALUES (?, ?)", arguments: [Date(), body])
            return db.lastInsertedRowID
        }
    }
}

/// PostgreSQL through postgres-nio's pool (as many connections as Coxswain's store keeps, 10),
/// each statement its own transaction, committed with `synchronous_commit = on`.
struct PostgresInsert: RequestInsert {
    let client: PostgresClient
    static let logger = Logger(label: "bare-webhook")

    static func open(_ url: String, password: String?) async throws -> PostgresInsert {
        guard let parts = URLComponents(string: url), let host = parts.host, let user = parts.user else {
            throw BareFailure(what: "not a postgres://USER@HOST:PORT/DB URL: \(url)")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: user, password: password,
            database: String(parts.path.dropFirst()), tls: .disable)
        configuration.options.maximumConnections = 10
        configuration.options.minimumConnections = 2
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        Task { await client.run() }
        try await client.query(
            "CREATE TABLE IF NOT EXISTS request (id BIGSERIAL PRIMARY KEY, received_at TIMESTAMPTZ NOT NULL, body TEXT NOT NULL)", logger: logger)
        return PostgresInsert(client: client)
    }

    func insert(body: String) async throws -> Int64 {
        let rows = try await client.query("INSERT INTO request (received_at, body) VALUES (\(Date()), \(body)) RETURNING id", logger: Self.logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw BareFailure(what: "INSERT … RETURNING id returned no row")
    }
}

struct BareFailure: Error, CustomStringConvertible {
    let what: String
    var description: String { what }
}
