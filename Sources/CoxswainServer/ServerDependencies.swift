import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainCluster
import CoxswainChat
import Logging

/// What the server is built from. Production fills it from the configuration file and the
/// process environment; tests fill it with loopback addresses, stand-ins and a fixed clock.
public struct ServerDependencies: Sendable {
    public var configuration: CoxswainConfiguration
    public var rollbackRunbook: Runbook
    /// `commands/upgrade.yaml`; without it `/upgrade` is refused.
    public var upgradeRunbook: Runbook?
    public var secrets: SlackSecrets
    public var database: AppDatabase
    /// The wall clock; injected so expiry and time windows are testable.
    public var now: @Sendable () -> Date
    /// `PATH` and the rest of the environment helm and kubectl run with.
    public var processEnvironment: [String: String]
    /// How often idle services look for work they were not woken for.
    public var pollInterval: Duration
    public var logger: Logger

    public init(configuration: CoxswainConfiguration, rollbackRunbook: Runbook, upgradeRunbook: Runbook? = nil, secrets: SlackSecrets, database: AppDatabase,
                now: @escaping @Sendable () -> Date = { Date() }, processEnvironment: [String: String],
                pollInterval: Duration = .milliseconds(500), logger: Logger = Logger(label: "coxswain")) {
        self.configuration = configuration; self.rollbackRunbook = rollbackRunbook; self.upgradeRunbook = upgradeRunbook; self.secrets = secrets
        self.database = database; self.now = now; self.processEnvironment = processEnvironment
        self.pollInterval = pollInterval; self.logger = logger
    }

    /// Loads what `coxswain serve` needs: configuration, secrets, runbooks, database.
    public static func load(configPath: String, environment: [String: String], logger: Logger) async throws -> ServerDependencies {
        let configuration = try ConfigurationLoader.load(file: configPath)
        let secrets = try SlackSecrets.load(from: environment)
        let runbook = try RunbookLoader.load(file: configuration.commandsDirectory + "/rollback.yaml")
        let upgradePath = configuration.commandsDirectory + "/upgrade.yaml"
        let upgrade = FileManager.default.fileExists(atPath: upgradePath) ? try RunbookLoader.load(file: upgradePath) : nil
        let database = try AppDatabase.open(path: configuration.databasePath)
        try await database.seedRegistry(from: Array(configuration.releases.values), now: Date())
        return ServerDependencies(configuration: configuration, rollbackRunbook: runbook, upgradeRunbook: upgrade, secrets: secrets, database: database,
                                  processEnvironment: environment, logger: logger)
    }

    /// The runbook a job follows.
    func runbook(for command: String) -> Runbook {
        command == "/upgrade" ? (upgradeRunbook ?? rollbackRunbook) : rollbackRunbook
    }

    public var commandRunner: CommandRunner {
        CommandRunner(searchPath: processEnvironment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", environment: processEnvironment)
    }

    public var helm: HelmClient {
        HelmClient(runner: commandRunner, program: configuration.cluster.helm, kubeContext: configuration.cluster.kubeContext,
                   readTimeout: configuration.cluster.readTimeout)
    }

    public var kubectl: KubectlClient {
        KubectlClient(runner: commandRunner, program: configuration.cluster.kubectl, kubeContext: configuration.cluster.kubeContext,
                      readTimeout: configuration.cluster.readTimeout)
    }
}
