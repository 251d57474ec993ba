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
        Self.nameUTCAsGMT()
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
            database \(configuration.databasePath), \(releases) releases
            """)
        try await buildApplication(dependencies).runService()
        if let database = dependencies.stores.jobs as? AppDatabase {
            let (batches, writes) = database.groupCommitCounts
            let (right, wrong) = database.newJobForecastCounts
            logger.info(
                """
                coxswain stopped: \(writes) webhook writes in \(batches) transactions; \
                \(right) of \(right + wrong) new jobs written as built before their write
                """)
        }
    }
}

extension Serve {
    /// When the machine's zone is UTC (TZ unset or a UTC name, /etc/localtime a UTC zone, as on servers and in
    /// containers), call it "GMT": the same zone, but the one name Foundation resolves without ICU's time zone
    /// tables, which Hummingbird's `Date` header would otherwise map for good (~1.7 MB resident). Everything
    /// Coxswain shows is UTC already; any other local zone is left as it is.
    static func nameUTCAsGMT() {
        let utcNames: Set = ["UTC", "UCT", "GMT", "Universal", "Zulu", "Etc/UTC", "Etc/UCT", "Etc/GMT", "Etc/Universal", "Etc/Zulu"]
        if let zone = ProcessInfo.processInfo.environment["TZ"] {
            guard utcNames.contains(zone.hasPrefix(":") ? String(zone.dropFirst()) : zone) else { return }
        } else if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/etc/localtime") {
            guard let range = target.range(of: "zoneinfo/"), utcNames.contains(String(target[range.upperBound...])) else { return }
        } else if FileManager.default.fileExists(atPath: "/etc/localtime") {
            return
        }
        setenv("TZ", "GMT", 1)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or migrate the database named in the configuration, then exit.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let store = try await StoreAccess.open(options.config, forWriting: true)
        print("database \(store.path) is migrated; registry has \(try await store.database.entries(environment: nil).count) entries")
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
