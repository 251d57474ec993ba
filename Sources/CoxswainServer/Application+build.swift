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
public func buildApplication(_ dependencies: ServerDependencies) -> CoxswainApplication {
    let workerSignal = WorkSignal()
    let notifierSignal = WorkSignal()
    let watchSignal = WorkSignal()
    let state = ServerState()
    let configuration = dependencies.configuration
    let policy = dependencies.policy
    let lifecycle = dependencies.lifecycle
    let catalog = dependencies.catalog
    let verifier = SlackRequestVerifier(signingSecret: dependencies.secrets.signingSecret.reveal(), now: dependencies.now)
    let metrics = dependencies.metrics
    let slack = SlackWebClient(
        apiURL: configuration.slack.apiURL, token: dependencies.secrets.botToken, now: dependencies.now,
        observe: { metrics.slackCall(method: $0, outcome: $1) })
    let renderer = SlackNoticeRenderer(slashCommand: { catalog.written($0, style: .slash) })
    let userGroups = UserGroupDirectory(ttl: configuration.userGroupTTL.seconds, now: dependencies.now)
    let lease = LeaseKeeper(
        leases: dependencies.stores.lease, serverID: dependencies.serverID, duration: dependencies.leaseDuration,
        now: dependencies.now, logger: dependencies.logger)

    let queries = ReadOnlyQueries(dependencies: dependencies)
    let handOff = NoticeHandOff(platform: SlackNoticeDelivery.platform, notifierSignal: notifierSignal, mayDeliver: { lease.isHeld })
    let intake = ChangeIntake(
        dependencies: dependencies, policy: policy, lifecycle: lifecycle, workerSignal: workerSignal, notifierSignal: notifierSignal,
        handOff: handOff, state: state)
    let dispatcher = Dispatcher(
        catalog: catalog, policy: policy,
        intake: intake,
        decisions: JobDecisions(dependencies: dependencies, policy: policy, lifecycle: lifecycle, workerSignal: workerSignal, notifierSignal: notifierSignal),
        queries: queries,
        watches: WatchRequests(dependencies: dependencies, policy: policy, signal: watchSignal, notifierSignal: notifierSignal))
    let queryQueue = QueryQueue()

    // The Slack-facing listener: Slack's routes and health checks, nothing else.
    let router = Router()
    router.middlewares.add(LogRequestsMiddleware(.debug))
    router.middlewares.add(RequestMetricsMiddleware(metrics: metrics))
    let commands = SlashCommandController(
        dependencies: dependencies, verifier: verifier, dispatcher: dispatcher, renderer: renderer,
        userGroups: userGroups, queryQueue: queryQueue)
    let interactions = InteractionController(
        dependencies: dependencies, verifier: verifier, dispatcher: dispatcher, userGroups: userGroups,
        notifierSignal: notifierSignal)
    var socketMode: SocketModeFrontEnd?
    if configuration.slack.mode == .socket {
        socketMode = dependencies.secrets.appToken.map { appToken in
            SocketModeFrontEnd(
                slack: slack, appToken: appToken, commands: commands, interactions: interactions, metrics: metrics, logger: dependencies.logger)
        }
    } else {
        // Request URLs only in HTTP mode: Socket Mode has no signing secret to check them with.
        router.post("/slack/commands") { request, context in await commands.handle(request, context: context) }
        router.post("/slack/interactions") { request, context in await interactions.handle(request, context: context) }
    }
    let socketClient = socketMode?.client, isSocketMode = configuration.slack.mode == .socket
    let health = HealthRoutes(
        health: dependencies.stores.health, lease: lease,
        slackProblem: {
            guard isSocketMode else { return nil }
            guard let socketClient else { return "no SLACK_APP_TOKEN" }
            return socketClient.problem
        })
    health.add(to: router)

    // The operators' listener (loopback by default): the console and the registry API.
    let operatorRouter = Router()
    operatorRouter.middlewares.add(LogRequestsMiddleware(.debug))
    let registry = RegistryController(registry: dependencies.stores.registry, environments: Array(configuration.environments.keys))
    operatorRouter.get("/api/v1/registry") { request, context in try await registry.list(request, context: context) }
    ConsoleController(dependencies: dependencies, dispatcher: dispatcher, userGroups: userGroups).add(to: operatorRouter)
    health.add(to: operatorRouter)
    let stores = dependencies.stores, runbooks = dependencies.runbooks, now = dependencies.now
    operatorRouter.get("/metrics") { _, _ -> Response in
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        let text = await metrics.exposition(stores: stores, runbooks: runbooks, now: now())
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    let logger = dependencies.logger
    let http = Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.server.host, port: configuration.server.port),
            serverName: "coxswain"),
        onServerRunning: { channel in
            // With port 0 this is where to find the server.
            logger.notice("listening on \(channel.localAddress?.description ?? "?")")
        },
        logger: logger)
    let operatorPort = BoundPort()
    let operatorHTTP = Application(
        router: operatorRouter,
        configuration: .init(
            address: .hostname(configuration.server.operatorHost, port: configuration.server.operatorPort),
            serverName: "coxswain"),
        onServerRunning: { channel in
            operatorPort.set(channel.localAddress?.port)
            logger.notice("operators' listener on \(channel.localAddress?.description ?? "?")")
        },
        logger: logger)
    let environmentChannels = configuration.environments.compactMapValues { $0.channels?.first { $0 != AccessPolicy.consoleChannel } }
    let delivery = SlackNoticeDelivery(
        outbox: dependencies.stores.outbox, slack: slack, renderer: renderer, auditChannel: configuration.slack.auditChannel,
        environmentChannels: environmentChannels, giveUpAfter: configuration.slack.giveUpAfter.seconds,
        editInterval: configuration.slack.editInterval.seconds, now: dependencies.now)
    // The watch after a change, where Prometheus is configured; it stops after the worker.
    let watch = configuration.prometheus.map { prometheus in
        WatchService(
            dependencies: dependencies, prometheus: PrometheusClient(configuration: prometheus), signal: watchSignal,
            notifierSignal: notifierSignal, lease: lease, intake: intake)
    }
    // The Socket Mode connection stops just before the listener: after the worker and notifier.
    let services: [any Service] =
        (socketMode.map { [$0] } ?? []) + (watch.map { [$0] } ?? []) + [
            operatorHTTP,
            lease,
            RetentionService(
                retention: configuration.retention, store: dependencies.stores.retention, lease: lease, now: dependencies.now,
                logger: dependencies.logger),
            UserGroupRefresher(
                directory: userGroups, groups: policy.userGroups, slack: slack, interval: configuration.userGroupTTL.duration, logger: dependencies.logger),
            QueryService(
                queue: queryQueue, queries: queries, outbox: dependencies.stores.outbox, notifierSignal: notifierSignal, now: dependencies.now,
                logger: dependencies.logger),
            Notifier(
                delivery: delivery, outbox: dependencies.stores.outbox, signal: notifierSignal, handOff: handOff, lease: lease, now: dependencies.now,
                pollInterval: dependencies.pollInterval, flushTimeout: .seconds(10), logger: dependencies.logger),
            JobWorker(
                dependencies: dependencies, signal: workerSignal, notifierSignal: notifierSignal, lease: lease, userGroups: userGroups, state: state,
                jobEnded: watchSignal),
        ]
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
            return Self.text(lease.isHeld ? "ready" : "ready (another server holds the database lease; this one runs no jobs)", status: .ok)
        }
    }

    static func text(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
