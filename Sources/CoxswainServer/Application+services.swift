import CoxswainChat
import CoxswainCluster
import CoxswainCore
import CoxswainHTTP
import Hummingbird
import Logging
import ServiceLifecycle

/// What wakes the worker, the notifier and the watch when there is work for them.
struct ServerSignals: Sendable {
    let worker = WorkSignal()
    /// Mattermost's notifier's; every notifier signal wakes it too.
    let mattermostNotifier = WorkSignal()
    let notifier: WorkSignal
    /// A job ended: its watch can start.
    let watch = WorkSignal()
    /// A job ended: its audit entries can be signed.
    let checkpoint = WorkSignal()

    init() { notifier = WorkSignal(alongside: [mattermostNotifier]) }
}

/// The outbound HTTP connections, closed when the server stops (it is the last service to).
struct OutboundConnections: Service {
    let http: OutboundHTTP

    func run() async throws {
        try? await gracefulShutdown()
        await http.shutdown()
    }
}

/// The services behind the routes, in the order they start; they stop in the reverse: the
/// worker first (it stops claiming, lets running jobs finish within the grace, records the
/// rest as interrupted), then the notifier (it sends what those jobs said), then the lease is
/// released, and the operators' listener last.
func backgroundServices(
    _ dependencies: ServerDependencies, operatorHTTP: any Service, signals: ServerSignals, state: ServerState, slack: SlackWebClient,
    renderer: SlackNoticeRenderer, userGroups: UserGroupDirectory, lease: LeaseKeeper, intake: ChangeIntake,
    dispatcher: Dispatcher, queryQueue: QueryQueue
) -> [any Service] {
    let configuration = dependencies.configuration, stores = dependencies.stores, now = dependencies.now, logger = dependencies.logger
    let lifecycle = dependencies.lifecycle
    let environmentChannels = configuration.environments.compactMapValues {
        $0.channels?.first { $0 != AccessPolicy.consoleChannel && !$0.hasPrefix("mattermost:") }
    }
    let delivery = SlackNoticeDelivery(
        outbox: stores.outbox, slack: slack, renderer: renderer, auditChannel: configuration.slack.auditChannel,
        environmentChannels: environmentChannels, giveUpAfter: configuration.slack.giveUpAfter.seconds,
        editInterval: configuration.slack.editInterval.seconds, now: now)
    let slackServices: [any Service] = [
        UserGroupRefresher(
            directory: userGroups, groups: dependencies.policy.userGroups, slack: slack, interval: configuration.userGroupTTL.duration, logger: logger),
        Notifier(
            delivery: delivery, outbox: stores.outbox, signal: signals.notifier, lease: lease, now: now,
            pollInterval: dependencies.pollInterval, flushTimeout: .seconds(10), logger: logger),
    ]
    // The watch after a change, where Prometheus is configured; it stops after the worker.
    let watch = configuration.prometheus.map { prometheus in
        WatchService(
            configuration: configuration, rollbackCommand: dependencies.runbooks.runbook(kind: .rollback)?.command, watches: stores.watches,
            jobs: stores.jobs, prometheus: PrometheusClient(http: dependencies.http, configuration: prometheus), signal: signals.watch,
            notifierSignal: signals.notifier, lease: lease, intake: intake, pollInterval: dependencies.pollInterval, now: now, logger: logger)
    }
    let actions = RunbookActions(
        configuration: configuration, cluster: dependencies.cluster, probe: dependencies.probe, jobs: stores.jobs, registry: stores.registry)
    let runner = JobRunner(
        configuration: configuration, runbooks: dependencies.runbooks, jobs: stores.jobs, lifecycle: lifecycle, policy: dependencies.policy,
        actions: actions, userGroups: userGroups, metrics: dependencies.metrics, now: now, logger: logger)
    let worker = JobWorker(
        runner: runner, housekeeping: Housekeeping(configuration: configuration, lifecycle: lifecycle, jobs: stores.jobs, now: now, logger: logger),
        bases: BasisReader(configuration: configuration, cluster: dependencies.cluster, lifecycle: lifecycle, jobs: stores.jobs, now: now, logger: logger),
        worker: configuration.worker, lifecycle: lifecycle, identity: dependencies.runner,
        claimDuration: dependencies.leaseDuration, signal: signals.worker,
        notifierSignal: signals.notifier, lease: lease, state: state, pollInterval: dependencies.pollInterval, now: now, logger: logger,
        jobEnded: [signals.watch, signals.checkpoint])
    return (watch.map { [$0] } ?? []) + [
        operatorHTTP,
        lease,
        RetentionService(retention: configuration.retention, store: stores.retention, lease: lease, now: now, logger: logger),
        QueryService(queue: queryQueue, dispatcher: dispatcher, outbox: stores.outbox, notifierSignal: signals.notifier, now: now, logger: logger),
    ] + (configuration.slackEnabled ? slackServices : []) + mattermostNotifier(dependencies, signals: signals, lease: lease) + [
        // Between the notifier and the worker: at shutdown it signs what the worker wrote, and the notifier then posts it.
        AuditCheckpoints(
            key: dependencies.auditSigningKey, audit: configuration.audit, auditChannel: configuration.slack.auditChannel, store: stores.audit,
            http: dependencies.http, signal: signals.checkpoint, notifierSignal: signals.notifier, now: now, logger: logger),
        worker,
    ]
}

/// Mattermost's notifier, when `mattermost:` is configured (and its tokens are there).
func mattermostNotifier(_ dependencies: ServerDependencies, signals: ServerSignals, lease: LeaseKeeper) -> [any Service] {
    guard let settings = dependencies.configuration.mattermost, let secrets = dependencies.mattermostSecrets else { return [] }
    let configuration = dependencies.configuration, catalog = dependencies.catalog
    let client = MattermostWebClient(http: dependencies.http, serverURL: settings.url, token: secrets.botToken, now: dependencies.now)
    let renderer = MattermostNoticeRenderer(
        signer: MattermostActionSigner(botToken: secrets.botToken.reveal()),
        actionURL: settings.publicURL.appendingPathComponent("mattermost/actions").absoluteString, slashCommand: { catalog.written($0, style: .slash) })
    let delivery = MattermostNoticeDelivery(
        outbox: dependencies.stores.outbox, client: client, renderer: renderer, auditChannel: settings.auditChannel,
        environmentChannels: CoxswainConfiguration.Mattermost.environmentChannels(configuration.environments),
        giveUpAfter: settings.giveUpAfter.seconds, editInterval: configuration.slack.editInterval.seconds, now: dependencies.now)
    return [
        Notifier(
            delivery: delivery, outbox: dependencies.stores.outbox, signal: signals.mattermostNotifier, lease: lease, now: dependencies.now,
            pollInterval: dependencies.pollInterval, flushTimeout: .seconds(10), logger: dependencies.logger)
    ]
}
