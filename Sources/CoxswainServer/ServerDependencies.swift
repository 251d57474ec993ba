import CoxswainAudit
import CoxswainChat
import CoxswainCluster
import CoxswainCore
import CoxswainHTTP
import CoxswainStore
import Foundation
import Logging

/// What the server is built from, and what is made of it once. Production fills it from the
/// configuration file and the process environment; tests fill it with loopback addresses,
/// stand-ins and a fixed clock. `buildApplication` hands each service only what it uses.
public struct ServerDependencies: Sendable {
    public let configuration: CoxswainConfiguration
    public let runbooks: RunbookSet
    public let secrets: SlackSecrets
    /// Mattermost's tokens, when `mattermost:` is configured.
    public let mattermostSecrets: MattermostSecrets?
    public let stores: Stores
    /// The wall clock; injected so expiry and time windows are testable.
    public let now: @Sendable () -> Date
    /// The server's environment; helm and kubectl get only its allow-listed part, outbound
    /// HTTP its proxy settings.
    public let processEnvironment: [String: String]
    /// How often idle services look for work they were not woken for.
    public let pollInterval: Duration
    /// How long the server lease and a job's claim last without renewal; another server takes over after it.
    public let leaseDuration: Duration
    /// This server, in the lease and on the jobs it runs.
    public let serverID: String
    /// This server as a runner of jobs: its id, host, pid and process space.
    public let runner: RunnerIdentity
    public let logger: Logger
    /// This server's metrics, served at `/metrics` on the operators' listener.
    public let metrics: ServerMetrics
    /// Signs the audit trail's checkpoints; without it none are made.
    public let auditSigningKey: AuditSigningKey?

    // Made once from the above.
    public let catalog: CommandCatalog
    public let policy: AccessPolicy
    public let lifecycle: JobLifecycle
    public let cluster: ClusterTools
    /// Every outbound HTTP request's connections (Slack, model servers, Prometheus); shut down when the server stops.
    public let http: OutboundHTTP

    public init(
        configuration: CoxswainConfiguration, runbooks: RunbookSet, secrets: SlackSecrets, stores: Stores,
        now: @escaping @Sendable () -> Date = { Date() }, processEnvironment: [String: String],
        pollInterval: Duration = .seconds(2), leaseDuration: Duration = .seconds(30),
        serverID: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))",
        logger: Logger = Logger(label: "coxswain"), metrics: ServerMetrics = ServerMetrics(), auditSigningKey: AuditSigningKey? = nil,
        mattermostSecrets: MattermostSecrets? = nil
    ) {
        self.auditSigningKey = auditSigningKey
        self.mattermostSecrets = mattermostSecrets
        self.configuration = configuration; self.runbooks = runbooks; self.secrets = secrets; self.stores = stores
        self.now = now; self.processEnvironment = processEnvironment; self.pollInterval = pollInterval
        self.leaseDuration = leaseDuration; self.serverID = serverID; self.logger = logger; self.metrics = metrics
        runner = RunnerIdentity.current(id: serverID)
        catalog = CommandCatalog(prefix: configuration.commandPrefix, runbooks: runbooks)
        let policy = AccessPolicy(configuration: configuration)
        self.policy = policy
        let environments = configuration.environments
        let ttl: @Sendable (String) -> GoDuration = { environments[$0]?.approvalTTL ?? GoDuration(milliseconds: 1_800_000) }
        let hasAuditChannel = configuration.slack.auditChannel != nil || configuration.mattermost?.auditChannel != nil
        let narrator = JobNarrator(runbook: { runbooks.runbook(for: $0) }, hasAuditChannel: hasAuditChannel, approvalTTL: ttl)
        lifecycle = JobLifecycle(narrator: narrator, approvers: { policy.approvers(environment: $0) }, approvalTTL: ttl)
        cluster = ClusterTools(configuration.cluster, environment: processEnvironment, observe: { [metrics] in metrics.command($0) })
        http = OutboundHTTP(environment: processEnvironment)
    }

    /// Loads what `coxswain serve` needs: configuration, secrets, runbooks, database.
    public static func load(configPath: String, environment: [String: String], logger: Logger) async throws -> ServerDependencies {
        let configuration = try ConfigurationFiles.configuration(configPath)
        // A Mattermost-only installation has no Slack secrets to ask for.
        let secrets =
            configuration.slackEnabled
            ? try ConfigurationFiles.secrets(environment, mode: configuration.slack.mode) : SlackSecrets(signingSecret: "", botToken: "")
        let runbooks = try ConfigurationFiles.runbooks(configuration.commandsDirectory)
        let auditSigningKey = try ConfigurationFiles.auditSigningKey(environment)
        let mattermostSecrets = try configuration.mattermost.map { _ in try ConfigurationFiles.mattermostSecrets(environment) }
        guard runbooks.runbook(kind: .rollback) != nil else {
            throw RunbookError(file: configuration.commandsDirectory, step: nil, problem: "has no rollback runbook (one whose steps include helm.rollback)")
        }
        let stores = try await OpenedStore.open(configuration, environment: environment, logger: logger).stores
        try await stores.registry.seed(Array(configuration.releases.values), now: Date())
        return ServerDependencies(
            configuration: configuration, runbooks: runbooks, secrets: secrets, stores: stores,
            processEnvironment: environment, leaseDuration: configuration.worker.leaseDuration.duration, logger: logger,
            auditSigningKey: auditSigningKey, mattermostSecrets: mattermostSecrets)
    }

    /// The model endpoints' HTTP checks.
    var probe: ModelEndpointProbe { ModelEndpointProbe(http: http) }
}
