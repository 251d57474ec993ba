import CoxswainChat
import CoxswainCluster
import CoxswainCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The server: Slack's routes, the registry API and health checks, and the services behind
/// them. `coxswain serve` runs it with `runService()`; tests run it with HummingbirdTesting.
///
/// Services stop in the reverse of the order they start: the worker first (it stops
/// claiming, lets running jobs finish within the grace, records the rest as interrupted),
/// then the notifier (it sends what those jobs said), then the lease is released, and the
/// HTTP listener last, so Slack hears an answer until the very end.
public struct CoxswainApplication: ApplicationProtocol {
    public typealias Responder = RouterResponder<BasicRequestContext>
    let http: Application<Responder>
    public let services: [any Service]
    /// The operators' listener's port once it listens (its configured port may be 0).
    public let operatorPort: BoundPort

    public var responder: Responder { get async throws { try await http.responder } }
    public var configuration: ApplicationConfiguration { http.configuration }
    public var logger: Logger { http.logger }
    public func onServerRunning(_ channel: any Channel) async { await http.onServerRunning(channel) }

    /// Runs the listener and the services in shutdown order (see the type's comment).
    public func run() async throws {
        let group = ServiceGroup(configuration: .init(services: [http] + services, logger: logger))
        try await group.run()
    }

    public func runService(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        let group = ServiceGroup(configuration: .init(services: [http] + services, gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
        try await group.run()
    }
}

/// Builds the server. `coxswain serve` and the tests call the same function.
/// Builds the server. `coxswain serve` and the tests call the same function. Each part gets
/// what it uses, made once here.
public func buildApplication(_ dependencies: ServerDependencies) -> CoxswainApplication {
    let configuration = dependencies.configuration, stores = dependencies.stores, now = dependencies.now, logger = dependencies.logger
    let policy = dependencies.policy, lifecycle = dependencies.lifecycle, catalog = dependencies.catalog, metrics = dependencies.metrics
    let rollbackCommand = dependencies.runbooks.runbook(kind: .rollback)?.command
    let signals = ServerSignals()
    let state = ServerState()
    let verifier = SlackRequestVerifier(signingSecret: dependencies.secrets.signingSecret.reveal(), now: now)
    let slack = SlackWebClient(
        http: dependencies.http, apiURL: configuration.slack.apiURL, token: dependencies.secrets.botToken, now: now,
        observe: { metrics.slackCall(method: $0, outcome: $1) })
    let renderer = SlackNoticeRenderer(slashCommand: { catalog.written($0, style: .slash) })
    let userGroups = UserGroupDirectory(ttl: configuration.userGroupTTL.seconds, now: now)
    let lease = LeaseKeeper(leases: stores.lease, identity: dependencies.runner, duration: dependencies.leaseDuration, now: now, logger: logger)

    let queries = ReadOnlyQueries(
        configuration: configuration, cluster: dependencies.cluster, probe: dependencies.probe, jobs: stores.jobs, registry: stores.registry,
        watches: stores.watches)
    let intake = ChangeIntake(
        configuration: configuration, runbooks: dependencies.runbooks, jobs: stores.jobs, audit: stores.audit, health: stores.health, policy: policy,
        lifecycle: lifecycle, workerSignal: signals.worker, notifierSignal: signals.notifier, state: state, now: now, logger: logger)
    let dispatcher = Dispatcher(
        configuration: configuration, catalog: catalog, policy: policy, intake: intake,
        decisions: JobDecisions(
            jobs: stores.jobs, audit: stores.audit, health: stores.health, now: now, logger: logger, policy: policy, lifecycle: lifecycle,
            workerSignal: signals.worker, notifierSignal: signals.notifier),
        queries: queries,
        watches: WatchRequests(
            configuration: configuration, rollbackCommand: rollbackCommand, watches: stores.watches, health: stores.health, now: now, logger: logger,
            policy: policy, signal: signals.watch, notifierSignal: signals.notifier),
        resumptions: SyncResumption(configuration: configuration, kubectl: queries.kubectl, audit: stores.audit, now: now, logger: logger))
    let queryQueue = QueryQueue()

    // The Slack-facing listener: Slack's routes and health checks, nothing else.
    let router = Router()
    router.middlewares.add(LogRequestsMiddleware(.debug))
    router.middlewares.add(RequestMetricsMiddleware(metrics: metrics))
    let commands = SlashCommandController(
        configuration: configuration, logger: logger, verifier: verifier, dispatcher: dispatcher, renderer: renderer, userGroups: userGroups,
        queryQueue: queryQueue)
    let interactions = InteractionController(
        configuration: configuration, rollbackCommand: rollbackCommand, audit: stores.audit, outbox: stores.outbox, now: now, logger: logger,
        verifier: verifier, dispatcher: dispatcher, userGroups: userGroups, notifierSignal: signals.notifier)
    var socketMode: SocketModeFrontEnd?
    if !configuration.slackEnabled {
        // Mattermost only: no Slack route, connection or delivery.
    } else if configuration.slack.mode == .socket {
        socketMode = dependencies.secrets.appToken.map { appToken in
            SocketModeFrontEnd(slack: slack, appToken: appToken, commands: commands, interactions: interactions, metrics: metrics, logger: logger)
        }
    } else {
        // Request URLs only in HTTP mode: Socket Mode has no signing secret to check them with.
        router.post("/slack/commands") { request, context in await commands.handle(request, context: context) }
        router.post("/slack/interactions") { request, context in await interactions.handle(request, context: context) }
    }
    if let mattermost = configuration.mattermost, let secrets = dependencies.mattermostSecrets {
        let signer = MattermostActionSigner(botToken: secrets.botToken.reveal())
        MattermostControllers(
            settings: mattermost, members: configuration.members, rollbackCommand: rollbackCommand,
            tokens: MattermostCommandTokens(secrets.commandTokens.map { $0.reveal() }), signer: signer, dispatcher: dispatcher,
            renderer: MattermostNoticeRenderer(
                signer: signer, actionURL: mattermost.publicURL.appendingPathComponent("mattermost/actions").absoluteString,
                slashCommand: { catalog.written($0, style: .slash) }),
            queryQueue: queryQueue, audit: stores.audit, now: now, logger: logger
        ).add(to: router)
    }
    let socketClient = socketMode?.client, isSocketMode = configuration.slack.mode == .socket
    let health = HealthRoutes(
        health: stores.health, lease: lease,
        slackProblem: {
            guard isSocketMode else { return nil }
            guard let socketClient else { return "no SLACK_APP_TOKEN" }
            return socketClient.problem
        })
    health.add(to: router)

    // The operators' listener (loopback by default): the console and the registry API.
    let operatorRouter = Router()
    operatorRouter.middlewares.add(LogRequestsMiddleware(.debug))
    let registry = RegistryController(registry: stores.registry, environments: Array(configuration.environments.keys))
    operatorRouter.get("/api/v1/registry") { request, context in try await registry.list(request, context: context) }
    ConsoleController(
        tokens: stores.tokens, jobs: stores.jobs, outbox: stores.outbox, now: now, logger: logger, dispatcher: dispatcher, userGroups: userGroups
    ).add(to: operatorRouter)
    health.add(to: operatorRouter)
    let runbooks = dependencies.runbooks
    let replica = ServerMetrics.Replica(identity: dependencies.runner, holdsLease: { lease.isHeld })
    operatorRouter.get("/metrics") { _, _ -> Response in
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        let text = await metrics.exposition(stores: stores, runbooks: runbooks, replica: replica, now: now())
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    let http = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.server.host, port: configuration.server.port), serverName: "coxswain"),
        onServerRunning: { channel in
            // With port 0 this is where to find the server.
            logger.notice("listening on \(channel.localAddress?.description ?? "?")")
        },
        logger: logger)
    let operatorPort = BoundPort()
    let operatorHTTP = Application(
        router: operatorRouter,
        configuration: .init(address: .hostname(configuration.server.operatorHost, port: configuration.server.operatorPort), serverName: "coxswain"),
        onServerRunning: { channel in
            operatorPort.set(channel.localAddress?.port)
            logger.notice("operators' listener on \(channel.localAddress?.description ?? "?")")
        },
        logger: logger)
    // The Socket Mode connection stops just before the listener, after the worker and the notifier;
    // the outbound connections after everything that uses them.
    let services =
        [OutboundConnections(http: dependencies.http)] + (socketMode.map { [$0] } ?? [])
        + backgroundServices(
            dependencies, operatorHTTP: operatorHTTP, signals: signals, state: state, slack: slack, renderer: renderer, userGroups: userGroups,
            lease: lease, intake: intake, dispatcher: dispatcher, queryQueue: queryQueue)
    return CoxswainApplication(http: http, services: services, operatorPort: operatorPort)
}

/// Where a listener configured with port 0 ended up.
public final class BoundPort: Sendable {
    private let port = Mutex<Int?>(nil)
    public init() {}
    public var value: Int? { port.withLock { $0 } }
    func set(_ value: Int?) { port.withLock { $0 = value } }
}

/// `/healthz` (the process answers) and `/readyz` (the store can be read and written, and in
/// Socket Mode the connection to Slack is open: without it no command arrives).
struct HealthRoutes: Sendable {
    let health: any StoreHealth
    let lease: LeaseKeeper
    let slackProblem: @Sendable () -> String?

    func add(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz") { _, _ -> Response in
            if let failure = health.lastWriteFailure {
                return Self.text("store cannot write: \(failure)", status: .serviceUnavailable)
            }
            guard await health.isReachable() else { return Self.text("store unreachable", status: .serviceUnavailable) }
            if let problem = slackProblem() { return Self.text("Slack Socket Mode: \(problem)", status: .serviceUnavailable) }
            return Self.text(
                lease.isHeld ? "ready" : "ready (another server holds the database lease and sends the messages; this one answers requests and runs jobs)",
                status: .ok)
        }
    }

    static func text(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
