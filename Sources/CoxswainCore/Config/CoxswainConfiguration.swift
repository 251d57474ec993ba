import Foundation

/// Everything Coxswain needs to know about its world, parsed once at start-up.
///
/// Everything that points outside (Slack, helm, kubectl, model endpoints) is here so
/// tests and a local sandbox can point it at loopback. Secrets are not: see `SlackSecrets`.
public struct CoxswainConfiguration: Sendable {
    /// How Slack's requests (slash commands, button clicks) reach Coxswain.
    public enum SlackMode: String, Sendable, CaseIterable {
        /// Slack posts to Coxswain's public request URLs, signed with the signing secret.
        case http
        /// Coxswain connects out to Slack over a WebSocket with the app-level token; no
        /// public endpoint, no signing secret.
        case socket
    }

    public struct Server: Sendable {
        /// The Slack-facing listener: Slack's routes and health checks only.
        public var host: String
        public var port: Int
        /// The operators' listener (loopback by default): the console API, the registry API.
        public var operatorHost: String
        public var operatorPort: Int
        public init(host: String, port: Int, operatorHost: String = "127.0.0.1", operatorPort: Int = 8081) {
            self.host = host; self.port = port; self.operatorHost = operatorHost; self.operatorPort = operatorPort
        }
    }
    public struct Slack: Sendable {
        public var apiURL: URL
        public var auditChannel: String?
        /// Hosts a slash command's `response_url` may point at; anything else is ignored, so a
        /// signed request cannot make Coxswain post elsewhere.
        public var responseURLHosts: [String]
        /// How long a message is retried through Slack outages before it is given up on.
        public var giveUpAfter: GoDuration
        /// How Slack's requests reach Coxswain.
        public var mode: SlackMode = .http
        /// The least time between two edits of one message: steps that end sooner are shown
        /// together by the next edit (Slack allows about one message a second per channel).
        public var editInterval = GoDuration(milliseconds: 1000)
    }
    public struct Cluster: Sendable {
        public var helm: String
        public var kubectl: String
        /// Passed as `--kube-context` / `--context` when set.
        public var kubeContext: String?
        /// How long read-only cluster calls (history, status, get pods) may take.
        public var readTimeout: GoDuration
        /// Environment variables helm and kubectl get besides the standard ones (`PATH`,
        /// `HOME`, `KUBECONFIG`, `HELM_*`, proxies); nothing else of Coxswain's reaches them.
        public var passEnvironment: [String]
        /// The extended resources the capacity check counts as GPUs, in order.
        public var gpuResources: [String] = [nvidiaGPU]
        public static let nvidiaGPU = "nvidia.com/gpu"
        /// Where Argo CD's Applications live, for a tracking annotation that does not name it.
        public var argoCDNamespace = "argocd"
    }
    public struct Worker: Sendable {
        /// Jobs of different releases that may run at once.
        public var maxConcurrentJobs: Int
        /// On shutdown, how long running jobs may take to finish before they are stopped
        /// and recorded as interrupted.
        public var shutdownGrace: GoDuration
        /// How long the server's lease on the database lasts without renewal: after a crash,
        /// another server takes over (and records the crashed one's jobs as interrupted)
        /// once it has expired.
        public var leaseDuration: GoDuration
    }
    public struct Environment: Sendable, Equatable {
        public var name: String
        public var namespace: String
        /// Distinct approvals a change needs before it runs (production: 1 by default).
        public var approvals: Int
        /// How long an approval request stays open.
        public var approvalTTL: GoDuration
        /// Channels commands for this environment are accepted from; nil means any.
        public var channels: [String]?
        /// Which release channels `/upgrade` accepts here.
        public var releaseChannels: Set<ReleaseChannel>
        /// The environment a version must have been validated in first (production: staging).
        public var promotionAfter: String?
        /// Read-only commands need an explicit `read` grant here (default: any role here may read).
        public var readRequiresGrant: Bool
        /// How releases here are watched after a change (when `prometheus:` is configured).
        public var watch = WatchPolicy()
        /// What a change does when its rollout will not fit on the GPUs left.
        public var capacityWhenShort = CapacityWhenShort.stop
        /// What a change does to a release Argo CD or Flux syncs.
        public var gitopsMode = GitOpsMode.warn

        public init(
            name: String, namespace: String, approvals: Int = 0, approvalTTL: GoDuration = GoDuration(milliseconds: 1_800_000),
            channels: [String]? = nil, releaseChannels: Set<ReleaseChannel>? = nil, promotionAfter: String? = nil,
            readRequiresGrant: Bool = false
        ) {
            self.name = name; self.namespace = namespace; self.approvals = approvals; self.approvalTTL = approvalTTL; self.channels = channels
            self.releaseChannels = releaseChannels ?? ReleaseChannel.defaults(forEnvironment: name); self.promotionAfter = promotionAfter
            self.readRequiresGrant = readRequiresGrant
        }
    }
    /// What a role lets its members do, and where.
    public struct Role: Sendable, Equatable {
        public var name: String
        public var grants: Set<Permission>
        public var environments: Set<String>
        /// Slack user groups (ids such as S0123ONCALL) whose members hold the role.
        public var userGroups: [String]
        public init(name: String, grants: Set<Permission>, environments: Set<String>, userGroups: [String] = []) {
            self.name = name; self.grants = grants; self.environments = environments; self.userGroups = userGroups
        }
    }
    /// Where the watch after a change reads the model's metrics.
    public struct Prometheus: Sendable, Equatable {
        public var url: URL
        /// A file holding a bearer token (read at each question, so it can be rotated).
        public var tokenFile: String?
        public var timeout: GoDuration
    }
    public struct Emergency: Sendable {
        /// How often the audit channel is reminded of an unacknowledged break-glass job.
        public var reminderInterval: GoDuration
        /// How long the break-glass path watches pods and health before giving up.
        public var watchTimeout: GoDuration
    }
    /// How long records that nothing reads after a while are kept; nil keeps them for ever.
    /// Jobs, their steps and the audit trail are always kept (planning and audits read them).
    public struct Retention: Sendable, Equatable {
        /// Messages of finished jobs (and of no job) once they were delivered, replaced or given up.
        public var notices: GoDuration? = GoDuration(milliseconds: 30 * 86_400_000)
        /// The keys that make a chat platform's retried request harmless (retries come within minutes).
        public var requestKeys: GoDuration? = GoDuration(milliseconds: 30 * 86_400_000)
        public init() {}
    }
    /// The audit trail's signed checkpoints (`CoxswainAudit`); the key is never here but in
    /// `COXSWAIN_AUDIT_SIGNING_KEY` or the file `COXSWAIN_AUDIT_SIGNING_KEY_FILE` names.
    public struct Audit: Sendable, Equatable {
        /// The name checkpoints carry; without it, the first checkpoint's generated name is kept.
        public var installation: String?
        /// A checkpoint at least this often while entries are written, besides one after each job.
        public var checkpointInterval = GoDuration(seconds: 3600)
        /// A file each checkpoint line is appended to (on storage other than the database's).
        public var checkpointFile: String?
        /// Where each checkpoint is POSTed as JSON (`text` is the line, as a Slack or Mattermost
        /// incoming webhook takes it; its fields beside it).
        public var checkpointURL: URL?
        public init() {}
    }
    public enum ReleaseKind: String, Sendable, Equatable { case helm, deployment }
    public struct Release: Sendable, Equatable {
        public var name: String
        /// `helm` (the default) or `deployment`: a plain Deployment rolled back with `kubectl rollout undo`.
        public var kind: ReleaseKind = .helm
        /// The chart `/upgrade` installs, e.g. oci://ghcr.io/vllm-project/charts/semantic-router.
        public var chart: String?
        /// Values files passed as `-f FILE` on upgrade (pinning image tags).
        public var valuesFiles: [String] = []
        /// For `kind: deployment`: the Deployment's name (default: the release name).
        public var deploymentName: String?
        public var model: String
        public var environment: String
        public var namespace: String
        public var endpoint: URL
        /// The model server answers `GET /ready` (vLLM itself only has `/health`).
        public var hasReadyEndpoint: Bool
        /// Overrides the runbook's completion SLO for this release.
        public var completionSLO: GoDuration?
        /// The context length the model server must report for `model` (`probe.models`); nil: not checked.
        public var maxModelLen: Int?
        /// This release's own PromQL for the watch (its metrics are labelled differently).
        public var watchQueries: WatchQueries?

        public init(
            name: String, model: String, environment: String, namespace: String, endpoint: URL,
            hasReadyEndpoint: Bool, completionSLO: GoDuration?
        ) {
            self.name = name; self.model = model; self.environment = environment; self.namespace = namespace
            self.endpoint = endpoint; self.hasReadyEndpoint = hasReadyEndpoint; self.completionSLO = completionSLO
        }
    }

    public var server: Server
    /// Renames every command: `cx-` makes `/cx-rollback`, `/cx-approve`, `/cx-coxswain`.
    public var commandPrefix: String = ""
    /// Absolute, or relative to the configuration file's folder as written. Not used when
    /// `postgres` is set.
    public var databasePath: String
    /// `database: postgres://…`: the store is PostgreSQL there, for several replicas.
    public var postgres: PostgresAddress?
    /// The database, as logs and errors name it.
    public var databaseDescription: String { postgres?.description ?? databasePath }
    public var commandsDirectory: String
    public var slack: Slack
    /// False when the file has `mattermost:` and no `slack:`: a Mattermost-only installation
    /// (no Slack secrets, routes, deliveries).
    public var slackEnabled = true
    /// Mattermost beside Slack, when configured.
    public var mattermost: Mattermost?
    public var cluster: Cluster
    public var worker: Worker
    public var environments: [String: Environment]
    public var releases: [String: Release]
    public var roles: [String: Role]
    /// Slack user id -> the roles the user holds. The first version's `users:` list (user ->
    /// environments) becomes a role per user granting rollback and cancel there.
    public var members: [String: Set<String>]
    public var emergency: Emergency
    /// How long resolved Slack user-group memberships are trusted.
    public var userGroupTTL: GoDuration
    /// Without it, nothing is watched after a change.
    public var prometheus: Prometheus?
    public var retention = Retention()
    public var audit = Audit()

    /// The watch policy of a release: its environment's, with its own queries if it has them.
    public func watchPolicy(release: Release) -> WatchPolicy {
        var policy = environments[release.environment]?.watch ?? WatchPolicy()
        if let queries = release.watchQueries { policy.queries = queries }
        return policy
    }

    public init(
        server: Server, databasePath: String, commandsDirectory: String, slack: Slack,
        cluster: Cluster, worker: Worker, environments: [String: Environment],
        releases: [String: Release], roles: [String: Role], members: [String: Set<String>],
        emergency: Emergency, userGroupTTL: GoDuration
    ) {
        self.server = server; self.databasePath = databasePath; self.commandsDirectory = commandsDirectory
        self.slack = slack; self.cluster = cluster; self.worker = worker
        self.environments = environments; self.releases = releases; self.roles = roles; self.members = members
        self.emergency = emergency; self.userGroupTTL = userGroupTTL
    }

    public func release(named name: String) -> Release? { releases[name] }
}

/// A configuration problem, phrased for the person who wrote the file: the file, where in
/// it (line and column when known), the key and what was expected.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let key: String
    public let problem: String
    public var line: Int?
    public var column: Int?
    public init(file: String, key: String, problem: String, line: Int? = nil, column: Int? = nil) {
        self.file = file; self.key = key; self.problem = problem; self.line = line; self.column = column
    }
    public var description: String {
        let place = line.map { ":\($0)" + (column.map { ":\($0)" } ?? "") } ?? ""
        return problem.hasPrefix("`\(key)`") ? "\(file)\(place): \(problem)" : "\(file)\(place): \(key): \(problem)"
    }
}
