import CoxswainChat
import CoxswainCluster
import CoxswainCore
import CoxswainStore
import Foundation
import Logging

/// What the server is built from. Production fills it from the configuration file and the
/// process environment; tests fill it with loopback addresses, stand-ins and a fixed clock.
public struct ServerDependencies: Sendable {
    public var configuration: CoxswainConfiguration
    public var runbooks: RunbookSet
    public var secrets: SlackSecrets
    public var stores: Stores
    /// The wall clock; injected so expiry and time windows are testable.
    public var now: @Sendable () -> Date
    /// The server's environment; helm and kubectl get only its allow-listed part.
    public var processEnvironment: [String: String]
    /// How often idle services look for work they were not woken for.
    public var pollInterval: Duration
    /// How long the server lease lasts without renewal; another server takes over after it.
    public var leaseDuration: Duration
    /// This server, in the lease and on the jobs it runs.
    public var serverID: String
    public var logger: Logger
    /// This server's metrics, served at `/metrics` on the operators' listener.
    public let metrics: ServerMetrics

    public init(
        configuration: CoxswainConfiguration, runbooks: RunbookSet, secrets: SlackSecrets, stores: Stores,
        now: @escaping @Sendable () -> Date = { Date() }, processEnvironment: [String: String],
        pollInterval: Duration = .seconds(2), leaseDuration: Duration = .seconds(30),
        serverID: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))",
        logger: Logger = Logger(label: "coxswain"), metrics: ServerMetrics = ServerMetrics()
    ) {
        self.metrics = metrics
        self.configuration = configuration; self.runbooks = runbooks; self.secrets = secrets; self.stores = stores
        self.now = now; self.processEnvironment = processEnvironment; self.pollInterval = pollInterval
        self.leaseDuration = leaseDuration; self.serverID = serverID; self.logger = logger
    }

    /// Loads what `coxswain serve` needs: configuration, secrets, runbooks, database.
    public static func load(configPath: String, environment: [String: String], logger: Logger) async throws -> ServerDependencies {
        let configuration = try ConfigurationFiles.configuration(configPath)
        let secrets = try ConfigurationFiles.secrets(environment, mode: configuration.slack.mode)
        let runbooks = try ConfigurationFiles.runbooks(configuration.commandsDirectory)
        guard runbooks.runbook(kind: .rollback) != nil else {
            throw RunbookError(file: configuration.commandsDirectory, step: nil, problem: "has no rollback runbook (one whose steps include helm.rollback)")
        }
        let database = try AppDatabase.open(path: configuration.databasePath)
        let stores = Stores(sqlite: database)
        try await stores.registry.seed(Array(configuration.releases.values), now: Date())
        return ServerDependencies(
            configuration: configuration, runbooks: runbooks, secrets: secrets, stores: stores,
            processEnvironment: environment, leaseDuration: configuration.worker.leaseDuration.duration, logger: logger)
    }

    public var catalog: CommandCatalog { CommandCatalog(prefix: configuration.commandPrefix, runbooks: runbooks) }
    public var policy: AccessPolicy { AccessPolicy(configuration: configuration) }

    public var lifecycle: JobLifecycle {
        let environments = configuration.environments
        let runbooks = self.runbooks
        let policy = self.policy
        let ttl: @Sendable (String) -> GoDuration = { environments[$0]?.approvalTTL ?? GoDuration(milliseconds: 1_800_000) }
        let narrator = JobNarrator(runbook: { runbooks.runbook(for: $0) }, hasAuditChannel: configuration.slack.auditChannel != nil, approvalTTL: ttl)
        return JobLifecycle(narrator: narrator, approvers: { policy.approvers(environment: $0) }, approvalTTL: ttl)
    }

    public var commandRunner: CommandRunner {
        CommandRunner(
            searchPath: processEnvironment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", environment: processEnvironment,
            passing: configuration.cluster.passEnvironment, observe: { [metrics] in metrics.command($0) })
    }

    public var helm: HelmClient {
        HelmClient(
            runner: commandRunner, program: configuration.cluster.helm, kubeContext: configuration.cluster.kubeContext,
            readTimeout: configuration.cluster.readTimeout)
    }

    public var kubectl: KubectlClient {
        KubectlClient(
            runner: commandRunner, program: configuration.cluster.kubectl, kubeContext: configuration.cluster.kubeContext,
            readTimeout: configuration.cluster.readTimeout)
    }

    func transitions(_ persistence: Persistence) -> JobTransitions {
        JobTransitions(jobs: stores.jobs, persistence: persistence, now: now)
    }
}
