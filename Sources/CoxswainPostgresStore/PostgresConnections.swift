import CoxswainCore
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The store's connections: a pool, and a deadline for getting one. While the database is
/// down the pool keeps trying to connect (for a minute, then it fails everything at once);
/// a caller waits `wait` at most, then gets a transient failure, and what it asked for
/// never starts.
final class PostgresConnections: Sendable {
    private let client: PostgresClient
    private let running: Task<Void, Never>
    private let probe: PostgresConnection.Configuration
    let location: String
    let wait: Duration

    init(address: PostgresAddress, password: String?, readOnly: Bool, wait: Duration, logger: Logger) throws {
        var startup = [("application_name", "coxswain")]
        if readOnly { startup.append(("default_transaction_read_only", "on")) }
        let tls = Self.tls(address)
        var configuration = PostgresClient.Configuration(
            host: address.host, port: address.port, username: address.user, password: password, database: address.database,
            tls: tls.map(PostgresClient.Configuration.TLS.require) ?? .disable)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 10
        // Two kept open: a request does not wait for a connection to be made (and its password
        // exchange) after a quiet spell.
        configuration.options.minimumConnections = 2
        // An open connection that idles costs only the keep-alive query.
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(60))
        configuration.options.additionalStartupParameters = startup
        let probeTLS: PostgresConnection.Configuration.TLS
        do {
            probeTLS = try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
        } catch {
            throw StoreFailure(
                kind: .unusable, location: address.description, operation: "set up TLS",
                detail: "\(error) (is sslrootcert=\(address.rootCertificate ?? "") a readable PEM file of CA certificates?)")
        }
        var probe = PostgresConnection.Configuration(
            host: address.host, port: address.port, username: address.user, password: password, database: address.database, tls: probeTLS)
        probe.options.connectTimeout = .seconds(5)
        probe.options.additionalStartupParameters = startup
        self.probe = probe
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.running = Task { await client.run() }
        self.location = address.description
        self.wait = wait
    }

    private static func tls(_ address: PostgresAddress) -> TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch address.sslMode {
        case .disable: return nil
        case .require: tls.certificateVerification = .none
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let file = address.rootCertificate { tls.trustRoots = .file(file) }
        return tls
    }

    /// One connection of its own, at start: the pool would retry a wrong password or a
    /// missing database for a minute, this says at once what the server said.
    func firstContact() async throws {
        let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: PostgresConnection.quiet)
        try? await connection.close()
    }

    func close() { running.cancel() }

    deinit { running.cancel() }

    /// Runs `body` on a pooled connection, if one is had within `wait` (or the store's).
    func withConnection<T: Sendable>(wait: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let race = LeaseRace()
        let client = client, location = location, wait = wait ?? self.wait
        return try await withThrowingTaskGroup(of: Outcome<T>.self) { group in
            group.addTask { () -> Outcome<T> in
                try await client.withConnection { connection in
                    guard race.take() else { throw CancellationError() }
                    return .done(try await body(connection))
                }
            }
            group.addTask { () -> Outcome<T> in
                try await Task.sleep(for: wait)
                guard race.giveUp() else { return .inTime }
                throw StoreFailure(
                    kind: .io, location: location, operation: "connect",
                    detail: "no connection within \(wait.components.seconds) s; is the database up and reachable?")
            }
            while let outcome = try await group.next() {
                if case .done(let value) = outcome {
                    group.cancelAll()
                    return value
                }
            }
            throw CancellationError()
        }
    }
}

/// Who got to a connection first: the caller, or its deadline. Exactly one wins, so what
/// the caller asked for either never starts or is waited for.
private final class LeaseRace: Sendable {
    private enum State { case waiting, leased, givenUp }
    private let state = Mutex(State.waiting)

    /// The caller has its connection: true unless the deadline passed first.
    func take() -> Bool {
        state.withLock {
            if $0 == .waiting { $0 = .leased }; return $0 == .leased
        }
    }

    /// The deadline passed: true unless the caller had its connection first.
    func giveUp() -> Bool {
        state.withLock {
            if $0 == .waiting { $0 = .givenUp }; return $0 == .givenUp
        }
    }
}

/// A caller's result, or its deadline passing after the caller had its connection.
private enum Outcome<T: Sendable>: Sendable {
    case done(T)
    case inTime
}
