import ArgumentParser
import CoxswainServer
import CoxswainStore
import Foundation
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: Slack webhook, worker and notifier.",
        discussion: """
            Needs SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET for request URLs (slack.mode: http, the default) or SLACK_APP_TOKEN \
            (xapp-…) for Socket Mode (slack.mode: socket). Each may instead be a file named by …_FILE.
            """)

    @OptionGroup var options: ConfigOption
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    func run() async throws {
        var logger = Logger(label: "coxswain")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let dependencies: ServerDependencies
        do {
            dependencies = try await ServerDependencies.load(configPath: options.config, environment: ProcessInfo.processInfo.environment, logger: logger)
        } catch {
            throw CLIError("cannot start: \(error)")
        }
        let helm = await Doctor(dependencies: dependencies).helmCheck()
        if helm.ok { logger.info("\(helm.line)") } else { logger.warning("\(helm.line)") }
        let configuration = dependencies.configuration
        let releases = configuration.releases.count
        logger.info(
            """
            coxswain \(CoxswainVersion.current) starting on \(configuration.server.host):\(configuration.server.port), \
            database \(configuration.databaseDescription), \(releases) releases
            """)
        try await buildApplication(dependencies).runService()
        if let database = dependencies.stores.jobs as? AppDatabase {
            let (batches, writes) = database.groupCommitCounts
            logger.info("coxswain stopped: \(writes) webhook writes in \(batches) transactions")
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or migrate the database named in the configuration, then exit; or copy it into PostgreSQL (--to).",
        discussion: """
            With --to, the SQLite database the configuration names is copied into an empty PostgreSQL database (jobs, \
            the audit trail, the registry, console tokens, messages, watches; ids kept), in one transaction that commits \
            only when every table's count matches. Stop the server first. The password comes from \
            COXSWAIN_DATABASE_PASSWORD or COXSWAIN_DATABASE_PASSWORD_FILE. Then set `database:` to the same URL.

            Example: coxswain migrate --config coxswain.yaml --to 'postgres://coxswain@db.internal:5432/coxswain?sslmode=verify-full'
            """)
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "An empty PostgreSQL database to copy the SQLite database into: postgres://USER@HOST:PORT/DB?sslmode=…")
    var to: String?

    func run() async throws {
        guard let to else {
            let store = try await StoreAccess.open(options.config, forWriting: true)
            print("database \(store.path) is migrated; registry has \(try await store.stores.registry.entries(environment: nil).count) entries")
            return
        }
        try await MigrateToPostgres(configPath: options.config, target: to).run()
    }
}

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check helm (3.14 or later), kubectl, read access to each namespace and the Slack token; exit 1 if any check fails.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let dependencies: ServerDependencies
        do {
            dependencies = try await ServerDependencies.load(
                configPath: options.config, environment: ProcessInfo.processInfo.environment,
                logger: Logger(label: "coxswain"))
        } catch {
            print("❌ configuration: \(error)")
            throw ExitCode.failure
        }
        print("✅ configuration, secrets, runbooks and database")
        let checks = await Doctor(dependencies: dependencies).run()
        for check in checks { print(check.line) }
        if checks.contains(where: { !$0.ok }) { throw ExitCode.failure }
    }
}
