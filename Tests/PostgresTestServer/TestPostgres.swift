import CChildProcess
import CoxswainCore
import CoxswainPostgresStore
import Foundation
import Logging
import PostgresNIO

/// Debian's PostgreSQL, started once per test process: `initdb` into a temporary folder (as
/// the `postgres` user when the tests run as root, since PostgreSQL refuses to run as root),
/// `pg_ctl start` on a free port, password authentication over TCP (MD5, see `useMD5`).
/// Each test gets a database of its own. Stopped when the process exits.
public actor TestPostgres {
    public static let shared = TestPostgres()
    public static let user = "coxswain"
    public static let password = "test-password-not-a-secret"

    private var port: Int?

    /// The folder with initdb and pg_ctl, if PostgreSQL is installed.
    public static let binaries: String? = {
        if let folder = ProcessInfo.processInfo.environment["COXSWAIN_POSTGRES_BIN"] { return folder }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { Int($0) }.sorted()
        guard let newest = versions.last else { return nil }
        let folder = "\(root)/\(newest)/bin"
        return FileManager.default.fileExists(atPath: folder + "/initdb") ? folder : nil
    }()

    /// PostgreSQL runs in these tests when it is installed, and must be when CI says so.
    public static var available: Bool { binaries != nil || ProcessInfo.processInfo.environment["COXSWAIN_REQUIRE_REAL_TOOLS"] == "1" }

    /// A new, empty database on the shared server.
    /// A new database of its own for a test: migrated (a copy of a template migrated once, so
    /// two dozen tests starting together do not run the schema's DDL two dozen times), or
    /// `empty` for the tests of migrating itself.
    public func freshDatabase(empty: Bool = false) async throws -> PostgresAddress {
        // Actors are re-entered at each await: the server and the template are made once, by
        // the first caller, and every other caller waits for that.
        let starting = serverStart ?? Task { try await self.start() }
        serverStart = starting
        let port = try await starting.value
        if !empty { try await templateMade(port: port) }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let source = empty ? "template0" : Self.template
        try await Self.withConnection(port: port, database: "postgres") { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE \(source) STRATEGY FILE_COPY"), logger: Self.logger)
        }
        return PostgresAddress(user: Self.user, host: "127.0.0.1", port: port, database: String(name), sslMode: .disable)
    }

    private static let template = "coxswain_template"
    private var serverStart: Task<Int, any Error>?
    private var templateMaking: Task<Void, any Error>?

    /// The template, made by the first caller and waited for by the others. A failed making is
    /// not kept for the process's life: on a loaded machine the store's 15 s wait for its first
    /// connection can run out, and every PostgreSQL test of the run would then fail at once; the
    /// next attempt starts over.
    private func templateMade(port: Int) async throws {
        for attempt in 1...3 {
            let making = templateMaking ?? Task { try await self.makeTemplate(port: port) }
            templateMaking = making
            do {
                return try await making.value
            } catch where attempt < 3 {
                // Said, so that a run that needed it shows it.
                FileHandle.standardError.write(Data("test PostgreSQL: making the template failed (attempt \(attempt) of 3), again: \(error)\n".utf8))
                if templateMaking == making { templateMaking = nil }
            }
        }
    }

    /// Migrates the template by opening the store on it, then lets go of every connection to it
    /// (PostgreSQL copies a template only while nobody is connected to it). What a failed attempt
    /// left is dropped first.
    private func makeTemplate(port: Int) async throws {
        try await Self.withConnection(port: port, database: "postgres") { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(Self.template) WITH (FORCE)"), logger: Self.logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(Self.template) TEMPLATE template0"), logger: Self.logger)
        }
        let address = PostgresAddress(user: Self.user, host: "127.0.0.1", port: port, database: Self.template, sslMode: .disable)
        try await PostgresStore.open(address, password: Self.password, logger: Self.logger).close()
        // The store's pool closes its connections as it winds down; end any still there. With a
        // timeout, pg_terminate_backend returns once the session has gone (PostgreSQL waits, not
        // this code); a pass that finds none left is the end.
        let sessions = "FROM pg_stat_activity WHERE datname = '\(Self.template)' AND pid <> pg_backend_pid()"
        try await Self.withConnection(port: port, database: "postgres") { connection in
            for _ in 0..<10 {
                let ended = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT pg_terminate_backend(pid, 5000) \(sessions)"), logger: Self.logger
                ).collect()
                if ended.isEmpty { return }
            }
            throw TestPostgresError("sessions on \(Self.template) did not end")
        }
    }

    public static let logger = Logger(label: "test-postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    public static func withConnection<T: Sendable>(port: Int, database: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: user, password: password, database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let value = try await body(connection)
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A throwaway cluster need not survive a power loss: without fsync, the databases every
    /// test creates do not flood the disk the SQLite tests running meanwhile wait on. A
    /// restart of the server (the fault tests) still loses nothing.
    static let throwawaySettings = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"

    private func start() async throws -> Int {
        if let port { return port }
        let (port, folder, data) = try await Self.launch()
        Self.dataFolder = data
        Self.folder = folder
        atexit { TestPostgres.stopAtExit() }
        self.port = port
        return port
    }

    /// initdb into a new folder and a server started there on a free port, as the tests' user
    /// with a password: returns the port, the folder and the data folder.
    static func launch() async throws -> (port: Int, folder: String, data: String) {
        guard let bin = Self.binaries else {
            throw TestPostgresError("PostgreSQL is not installed (apt-get install postgresql, or set COXSWAIN_POSTGRES_BIN)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-pg-\(UUID().uuidString)")
        let data = folder.appendingPathComponent("data").path
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let passwordFile = folder.appendingPathComponent("password").path
        try Self.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let asRoot = getuid() == 0
        var port = try Self.freePort()
        // initdb and pg_ctl take seconds on a loaded machine: waited for on a thread of their
        // own, not on one of Swift's few concurrency threads, which every other test needs.
        // --no-sync: a throwaway cluster need not flush the disk the SQLite tests are waiting on.
        try await Self.onThread {
            if asRoot { try Self.run("/bin/chown", ["-R", "postgres:postgres", folder.path]) }
            try Self.run(
                "\(bin)/initdb",
                ["-D", data, "-U", Self.user, "--pwfile=\(passwordFile)", "--auth-host=md5", "--auth-local=trust", "-E", "UTF8", "--no-sync"],
                asPostgres: asRoot)
        }
        // A free port is free only when it is looked at: a server another test starts meanwhile may
        // take it first ("could not bind … Address already in use"), and then another one is tried.
        let log = folder.appendingPathComponent("server.log").path
        for attempt in 1... {
            let logged = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
            do {
                try await control(data: data, folder: folder.path, port: port, "start")
                break
            } catch {
                let said = (FileManager.default.contents(atPath: log) ?? Data()).dropFirst(logged)
                guard attempt < 5, String(decoding: said, as: UTF8.self).contains("Address already in use") else { throw error }
                port = try Self.freePort()
            }
        }
        try await Self.useMD5(socketFolder: folder.path, port: port)
        return (port, folder.path, data)
    }

    /// `pg_ctl start` (on `port`) or `stop -m fast` (every connection dropped), waited for.
    static func control(data: String, folder: String, port: Int, _ action: String) async throws {
        guard let bin = Self.binaries else { throw TestPostgresError("PostgreSQL is not installed") }
        let asRoot = getuid() == 0
        try await Self.onThread {
            let options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 \(Self.throwawaySettings)"
            let arguments =
                action == "start"
                ? ["-D", data, "-l", "\(folder)/server.log", "-w", "-t", "60", "-o", options, "start"]
                : ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]
            try Self.run("\(bin)/pg_ctl", arguments, asPostgres: asRoot)
        }
    }

    /// The password as MD5, not SCRAM: PostgresNIO computes SCRAM's 4096 rounds on an event
    /// loop thread, which in a debug build under the whole suite's load held the loops every
    /// other test's HTTP runs on for seconds at each new connection. A password is still
    /// needed, and a wrong one still refused. Set over the local socket, which trusts.
    static func useMD5(socketFolder: String, port: Int) async throws {
        let configuration = PostgresConnection.Configuration(
            unixSocketPath: "\(socketFolder)/.s.PGSQL.\(port)", username: user, password: nil, database: "postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query("SET password_encryption = 'md5'", logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(user) PASSWORD '\(password)'"), logger: logger)
    }

    nonisolated(unsafe) private static var dataFolder: String?
    nonisolated(unsafe) private static var folder: String?

    /// At exit: an immediate shutdown, which `pg_ctl stop -w` waits for; then the folder goes.
    private static func stopAtExit() {
        guard let dataFolder, let folder, let binaries else { return }
        try? run("\(binaries)/pg_ctl", ["-D", dataFolder, "-m", "immediate", "-w", "stop"], asPostgres: getuid() == 0)
        try? FileManager.default.removeItem(atPath: folder)
    }

    static func onThread(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try work()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    /// Runs a command to its end, its output in a file, as the server runs helm: every other
    /// descriptor closed (the server pg_ctl starts must not hold another test's pipes open)
    /// and waited for with waitpid (Foundation's `Process` notices a child's end by a
    /// descriptor the child inherits, which that server would keep open for ever).
    static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = false) throws {
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-pg-output-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputFile) }
        let output = open(outputFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw TestPostgresError("cannot write \(outputFile)") }
        defer { close(output) }
        let argv = asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = coxswain_spawn(&pid, argv[0], &cArguments, environ, output, output)
        guard spawned == 0 else { throw TestPostgresError("\(argv[0]) could not be started: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // Exited normally with 0: the low 7 bits (the signal) and the exit code are all zero.
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
            throw TestPostgresError("\(argv.joined(separator: " ")) ended with status \(status): \(text)")
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestPostgresError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
