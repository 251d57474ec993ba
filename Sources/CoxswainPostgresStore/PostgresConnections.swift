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
    /// The pool. Internal so a test can freeze one of its sessions inside a transaction.
    let client: PostgresClient
    private let running: Task<Void, Never>
    private let probe: PostgresConnection.Configuration
    let location: String
    let wait: Duration

    init(address: PostgresAddress, password: String?, readOnly: Bool, wait: Duration, logger: Logger) throws {
        // A replica frozen inside a transaction (SIGSTOP, a stalled VM, a cut network that TCP
        // has not noticed) would hold its row and advisory locks for ever, and every replica
        // wanting them (to take its job over, to renew the lease) would wait behind it: the
        // server ends such a session once it idles inside a transaction past `idleInTransactionLimit`.
        var startup = [("application_name", "coxswain"), ("idle_in_transaction_session_timeout", "\(Self.idleInTransactionLimit.components.seconds)s")]
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
                    return .done(try await Self.bounded(connection, location: location) { try await body(connection) })
                }
            }
            group.addTask { () -> Outcome<T> in
                try await cancellableSleep(for: wait)
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

extension PostgresConnections {
    /// The longest any of Coxswain's transactions may take: each is a few statements on a
    /// few rows, and its lock waits are brief.
    static let transactionLimit: Duration = .seconds(15)

    /// How long the server lets a session idle inside a transaction: below `transactionLimit`,
    /// so a transaction waiting behind a frozen one gets its locks before it gives up itself.
    /// A live replica never idles that long between two statements of one transaction.
    static let idleInTransactionLimit: Duration = .seconds(10)

    /// Runs `body` on `connection`, for at most `transactionLimit`. PostgresNIO 1.33.2 was seen
    /// (PostgresFaultTests) to leave a statement sent just as the server shut down waiting for
    /// ever, which held the worker with it: past the limit the connection is closed and the
    /// caller answered with an error, whatever the stuck statement does.
    static func bounded<T: Sendable>(
        _ connection: PostgresConnection, location: String, limit: Duration = transactionLimit, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let answer = Answer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                answer.start(continuation)
                // On the connection's event loop: each answer resumes the work where it arrived (`EventLoopTaskExecutor`).
                let work = Task(executorPreference: EventLoopTaskExecutor.on(connection.eventLoop)) {
                    do { answer.give(.success(try await body())) } catch { answer.give(.failure(error)) }
                }
                answer.watch(
                    work: work,
                    watchdog: Task {
                        guard (try? await cancellableSleep(for: limit)) != nil else { return }  // the work finished first
                        let failure = StoreFailure(
                            kind: .io, location: location, operation: "wait for the database",
                            detail: "no answer within \(limit.components.seconds) s on one connection, which was closed")
                        guard answer.give(.failure(failure)) else { return }
                        work.cancel()
                        try? await connection.close()
                    })
            }
        } onCancel: {
            answer.cancelWork()
        }
    }
}

/// The first of the work and its watchdog to finish answers the caller; the watchdog is
/// stopped when the work wins, so no timer outlives a transaction.
private final class Answer<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var watchdog: Task<Void, Never>?
        var work: Task<Void, Never>?
        var cancelled = false
        var answered = false
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) { state.withLock { $0.continuation = continuation } }

    func watch(work: Task<Void, Never>, watchdog: Task<Void, Never>) {
        let (answered, cancelled) = state.withLock { state in
            if !state.answered { (state.watchdog, state.work) = (watchdog, work) }
            return (state.answered, state.cancelled)
        }
        if answered { watchdog.cancel() }
        if cancelled { work.cancel() }
    }

    /// The caller was cancelled: so is the work (its statement is cancelled as it would have been in the caller's task).
    func cancelWork() {
        let work = state.withLock { state in
            state.cancelled = true
            return state.work
        }
        work?.cancel()
    }

    /// Answers the caller unless it was answered already; true when this answered it.
    @discardableResult
    func give(_ result: Result<T, any Error>) -> Bool {
        let (continuation, watchdog) = state.withLock { state -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?) in
            guard !state.answered else { return (nil, nil) }
            defer { (state.continuation, state.watchdog, state.work, state.answered) = (nil, nil, nil, true) }
            return (state.continuation, state.watchdog)
        }
        guard let continuation else { return false }
        watchdog?.cancel()
        continuation.resume(with: result)
        return true
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
