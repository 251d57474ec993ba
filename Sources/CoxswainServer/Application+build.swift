import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat
import Hummingbird
import Logging

/// Builds the server: routes, the worker and the notifier. `coxswain serve` and the tests
/// call the same function.
public func buildApplication(_ dependencies: ServerDependencies) -> some ApplicationProtocol {
    let workerSignal = WorkSignal()
    let notifierSignal = WorkSignal()
    let router = Router()
    router.middlewares.add(LogRequestsMiddleware(.debug))

    let configuration = dependencies.configuration
    let policy = AccessPolicy(configuration: configuration)
    let reporter = JobReporter(dependencies: dependencies)
    let approvalMessages = ApprovalMessages(policy: policy, environments: configuration.environments)
    let verifier = SlackRequestVerifier(signingSecret: dependencies.secrets.signingSecret, now: dependencies.now)
    let slack = SlackWebClient(apiURL: configuration.slack.apiURL, token: dependencies.secrets.botToken)
    let userGroups = UserGroupDirectory()
    let decisions = JobDecisions(dependencies: dependencies, policy: policy, reporter: reporter, approvalMessages: approvalMessages,
                                 workerSignal: workerSignal, notifierSignal: notifierSignal)
    let intake = ChangeIntake(dependencies: dependencies, policy: policy, reporter: reporter, approvalMessages: approvalMessages,
                                workerSignal: workerSignal, notifierSignal: notifierSignal)

    let queries = ReadOnlyQueries(dependencies: dependencies)
    let queryQueue = QueryQueue()
    let commands = SlashCommandController(dependencies: dependencies, verifier: verifier, intake: intake, decisions: decisions,
                                          userGroups: userGroups, queries: queries, queryQueue: queryQueue)
    router.post("/slack/commands") { request, context in try await commands.handle(request, context: context) }
    let interactions = InteractionController(dependencies: dependencies, verifier: verifier, decisions: decisions, intake: intake,
                                             userGroups: userGroups, notifierSignal: notifierSignal)
    router.post("/slack/interactions") { request, context in try await interactions.handle(request, context: context) }

    let registry = RegistryController(database: dependencies.database, environments: Array(dependencies.configuration.environments.keys))
    router.get("/api/v1/registry") { request, context in try await registry.list(request, context: context) }

    router.get("/healthz") { _, _ in "ok" }
    router.get("/readyz") { _, _ -> Response in
        await dependencies.database.isReachable()
            ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready")))
            : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "database unreachable")))
    }

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(dependencies.configuration.server.host, port: dependencies.configuration.server.port),
                             serverName: "coxswain"),
        logger: dependencies.logger)
    app.addServices(
        JobWorker(dependencies: dependencies, signal: workerSignal, notifierSignal: notifierSignal),
        Notifier(database: dependencies.database, slack: slack,
                 signal: notifierSignal, now: dependencies.now, pollInterval: dependencies.pollInterval, logger: dependencies.logger),
        QueryService(queue: queryQueue, queries: queries, database: dependencies.database, notifierSignal: notifierSignal,
                     now: dependencies.now, logger: dependencies.logger),
        UserGroupRefresher(directory: userGroups, groups: policy.userGroups, slack: slack,
                           interval: configuration.userGroupTTL.duration, logger: dependencies.logger))
    return app
}
