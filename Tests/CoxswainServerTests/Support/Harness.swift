import CoxswainAudit
import CoxswainChat
import CoxswainCore
import CoxswainPostgresStore
import CoxswainServer
import CoxswainStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresTestServer
import Testing

/// Runs Coxswain for real on an ephemeral port, with the helm/kubectl stand-ins first on
/// its PATH and a fake Slack + model server on loopback, and hands the test a way to send
/// slash commands signed exactly as Slack signs them.
struct Harness {
    static let signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let botToken = "xoxb-fake"
    static let appToken = "xapp-1-fake"
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    let client: any TestClientProtocol
    let world: FakeWorld
    let cluster: StandInCluster
    /// The server's store, SQLite unless the test runs on PostgreSQL.
    let database: any HarnessStore
    let fakePort: Int
    /// When set, Coxswain's clock; requests are signed at its time.
    let clock: TestClock?
    let dependencies: ServerDependencies
    let operatorPorts: BoundPort
    /// The operators' listener (console, registry API), once it listens.
    var operatorPort: Int? { operatorPorts.value }

    /// The first version's `users:` list; `access` replaces it (roles, members, channels).
    static let legacyUsers = """
        users:
          U0123ALICE: [development, production]
          U0456BOB: [development]
        """

    static func configurationYAML(
        fakePort: Int, completionSLO: String?, approvals: Int, access: String, channels: [String]? = nil,
        readTimeout: String = "20s", staging: Bool = false, plainDeployment: Bool = false, extra: String = "", production: String = "",
        worker: String = "{ shutdown_grace: 5s }", editInterval: String = "0s"
    ) -> String {
        """
        server: { host: 127.0.0.1, port: 0, operator_port: 0 }
        worker: \(worker)
        cluster: { read_timeout: \(readTimeout), environment: [PYENV_ROOT] }
        slack: { api_url: "http://127.0.0.1:\(fakePort)/api", audit_channel: C0AUDIT, edit_interval: \(editInterval), response_url_hosts: [127.0.0.1] }
        environments:
          development: { namespace: system }
        \(staging ? "  staging: { namespace: staging }" : "")
          production: { namespace: production, approvals: \(approvals), approval_ttl: 30m\(channels.map { ", channels: "
              + "[\($0.joined(separator: ", "))]" } ?? "")\(production) }
        releases:
          llama-2-7b-production:
            model: llama-2-7b
            environment: production
            endpoint: http://127.0.0.1:\(fakePort)/model
            ready_endpoint: true
            chart: oci://ghcr.io/vllm-project/charts/vllm-deployment
            values: [values-production.yaml]
        \(completionSLO.map { "    completion_slo: \($0)" } ?? "")
        \(staging ? """
          llama-2-7b-staging:
            model: llama-2-7b
            environment: staging
            endpoint: http://127.0.0.1:\(fakePort)/model
            chart: oci://ghcr.io/vllm-project/charts/vllm-deployment
        """ : "")
          llama-2-7b-development:
            model: llama-2-7b
            environment: development
            endpoint: http://127.0.0.1:\(fakePort)/model
        \(plainDeployment ? """
          semantic-router-dev:
            kind: deployment
            deployment: semantic-router
            model: semantic-router
            environment: development
            endpoint: http://127.0.0.1:\(fakePort)/model
        """ : "")
        \(access)
        \(extra)
        """
    }

    /// Starts everything, runs `body`, stops everything.
    static func run(
        cluster state: [String: Any] = StandInCluster.standardRelease(), completionSLO: String? = nil,
        database existing: AppDatabase? = nil, approvals: Int = 0, access: String = Harness.legacyUsers,
        clock: TestClock? = nil, channels: [String]? = nil, userGroups: [String: [String]] = [:],
        readTimeout: String = "20s", staging: Bool = false, plainDeployment: Bool = false, extra: String = "", production: String = "",
        logLevel: Logger.Level = .warning, runbooks folder: String? = nil,
        configuration custom: (@Sendable (_ fakePort: Int) -> String)? = nil, processEnvironment: [String: String]? = nil,
        socketModeURL: String? = nil, editInterval: String = "0s", postgres: Bool = false, auditSigningKey: AuditSigningKey? = nil,
        mattermost: Bool = false, leaseDuration: Duration = .seconds(30), _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        let world = FakeWorld()
        for (group, members) in userGroups { await world.set(userGroup: group, members: members) }
        await world.set(socketModeURL: socketModeURL)
        let cluster = try StandInCluster(state: state)
        try await FakeServer.application(world).test(.live) { fakeClient in
            let port = try #require(fakeClient.port)
            var yaml =
                custom?(port)
                ?? configurationYAML(
                    fakePort: port, completionSLO: completionSLO, approvals: approvals, access: access, channels: channels,
                    readTimeout: readTimeout, staging: staging, plainDeployment: plainDeployment, extra: extra, production: production,
                    editInterval: editInterval)
            if socketModeURL != nil {
                yaml = yaml.replacingOccurrences(of: "response_url_hosts: [127.0.0.1] }", with: "response_url_hosts: [127.0.0.1], mode: socket }")
            }
            if mattermost { yaml += Self.mattermostYAML(fakePort: port) }
            let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "test.yaml")
            let runbooks = try ConfigurationFiles.runbooks(folder ?? repositoryRoot.appendingPathComponent("commands").path)
            let stores: Stores
            let database: any HarnessStore
            var postgresStore: PostgresStore?
            if postgres {
                let address = try await TestPostgres.shared.freshDatabase()
                let store = try await PostgresStore.open(address, password: TestPostgres.password, logger: TestPostgres.logger)
                (stores, database, postgresStore) = (Stores(postgres: store), store, store)
            } else {
                let sqlite = try existing ?? AppDatabase.inMemory()
                (stores, database) = (Stores(sqlite: sqlite), sqlite)
            }
            defer { postgresStore?.close() }
            postgresStore?.deliverNotices(to: OpenedStore.platforms(configuration))
            (database as? AppDatabase)?.deliverNotices(to: OpenedStore.platforms(configuration))
            try await stores.registry.seed(Array(configuration.releases.values), now: Date())
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = cluster.directory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            // Against the sandbox: the real helm and kubectl, and only what they need to find it.
            if let processEnvironment { environment = processEnvironment }
            let now: @Sendable () -> Date
            if let clock { now = { clock.now } } else { now = { Date() } }
            var logger = Logger(label: "coxswain-test")
            logger.logLevel = logLevel
            let dependencies = ServerDependencies(
                configuration: configuration, runbooks: runbooks,
                secrets: socketModeURL == nil
                    ? SlackSecrets(signingSecret: signingSecret, botToken: botToken) : SlackSecrets(signingSecret: "", botToken: botToken, appToken: appToken),
                stores: stores, now: now, processEnvironment: environment, pollInterval: .milliseconds(100), leaseDuration: leaseDuration, logger: logger,
                auditSigningKey: auditSigningKey,
                mattermostSecrets: mattermost
                    ? MattermostSecrets(botToken: FakeMattermost.botToken, commandTokens: ["other", FakeMattermost.commandToken]) : nil)
            let app = buildApplication(dependencies)
            try await app.test(.live) { client in
                try await body(
                    Harness(
                        client: client, world: world, cluster: cluster, database: database, fakePort: port, clock: clock,
                        dependencies: dependencies, operatorPorts: app.operatorPort))
            }
        }
    }

    // MARK: talking to Coxswain as Slack does

    static func form(command: String = "/rollback", text: String, user: String, channel: String, triggerID: String, fakePort: Int) -> String {
        FormDecoding.encode([
            ("token", "gIkuvaNzQIHg97ATvDxqgjtO"), ("team_id", "T0001"), ("team_domain", "example"),
            ("channel_id", channel), ("channel_name", "ops"), ("user_id", user), ("user_name", "alice"),
            ("command", command), ("text", text), ("api_app_id", "A123456"),
            ("response_url", "http://127.0.0.1:\(fakePort)/hooks/\(triggerID)"), ("trigger_id", triggerID),
        ])
    }

    /// Sends a slash command signed with the signing secret (or as told otherwise).
    @discardableResult
    func command(
        _ text: String, command: String = "/rollback", user: String = "U0123ALICE", channel: String = "C0OPS",
        triggerID: String = UUID().uuidString, timestamp: Int? = nil, signingSecret: String = Harness.signingSecret
    ) async throws -> TestResponse {
        let body = Self.form(command: command, text: text, user: user, channel: channel, triggerID: triggerID, fakePort: fakePort)
        let ts = String(timestamp ?? Int((clock?.now ?? Date()).timeIntervalSince1970))
        let signature = SlackRequestVerifier.signature(signingSecret: signingSecret, timestamp: ts, body: Data(body.utf8))
        return try await client.execute(
            uri: "/slack/commands", method: .post,
            headers: [
                .contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Slack-Request-Timestamp")!: ts,
                HTTPField.Name("X-Slack-Signature")!: signature,
            ],
            body: ByteBuffer(string: body))
    }

    /// Sends a form body as it is, signed.
    func signed(body: String, path: String = "/slack/commands") async throws -> TestResponse {
        let ts = String(Int((clock?.now ?? Date()).timeIntervalSince1970))
        let signature = SlackRequestVerifier.signature(signingSecret: Self.signingSecret, timestamp: ts, body: Data(body.utf8))
        return try await client.execute(
            uri: path, method: .post,
            headers: [
                .contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Slack-Request-Timestamp")!: ts,
                HTTPField.Name("X-Slack-Signature")!: signature,
            ],
            body: ByteBuffer(string: body))
    }

    /// The ephemeral text of a command's HTTP answer.
    static func ephemeralText(_ response: TestResponse) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        #expect(object?["response_type"] as? String == "ephemeral")
        return try #require(object?["text"] as? String)
    }

    static func jobID(in text: String) throws -> Int64 {
        let match = try #require(text.firstMatch(of: /Job #(\d+)/))
        return try #require(Int64(match.1))
    }

    /// Waits for an answer through the response URL that contains `text`.
    func waitForResponse(containing text: String, timeout: Duration = .seconds(15)) async throws -> String {
        try await Eventually.value("a response containing \(text)", timeout: timeout) {
            await world.responseURLCalls().map(\.text).first { $0.contains(text) }
        }
    }

    /// Clicks a button as Slack posts it: a signed `block_actions` payload.
    @discardableResult
    func click(
        _ actionID: String, value: String, user: String, channel: String = "C0OPS", signingSecret: String = Harness.signingSecret,
        timestamp: Int? = nil
    ) async throws -> TestResponse {
        let payload: [String: Any] = [
            "type": "block_actions", "user": ["id": user, "username": user.lowercased()], "team": ["id": "T0001"],
            "channel": ["id": channel], "trigger_id": UUID().uuidString,
            "response_url": "http://127.0.0.1:\(fakePort)/hooks/click-\(UUID().uuidString)",
            "actions": [["action_id": actionID, "value": value, "type": "button", "block_id": "b"]],
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        let body = FormDecoding.encode([("payload", json)])
        let ts = String(timestamp ?? Int((clock?.now ?? Date()).timeIntervalSince1970))
        let signature = SlackRequestVerifier.signature(signingSecret: signingSecret, timestamp: ts, body: Data(body.utf8))
        return try await client.execute(
            uri: "/slack/interactions", method: .post,
            headers: [
                .contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Slack-Request-Timestamp")!: ts,
                HTTPField.Name("X-Slack-Signature")!: signature,
            ],
            body: ByteBuffer(string: body))
    }

    // MARK: waiting for the worker and the notifier

    /// Waits until the job has finished and every message about it has been delivered.
    @discardableResult
    func waitUntilSettled(job id: Int64, timeout: Duration = .seconds(60)) async throws -> Job {
        try await waitFor(job: id, "finished", timeout: timeout) { $0.state.isFinished }
    }

    /// Waits until the job is in `state` (and its messages are out).
    @discardableResult
    func waitFor(job id: Int64, state: JobState, timeout: Duration = .seconds(60)) async throws -> Job {
        try await waitFor(job: id, state.rawValue, timeout: timeout) { $0.state == state }
    }

    func waitFor(job id: Int64, _ what: String, timeout: Duration = .seconds(60), until done: (Job) -> Bool) async throws -> Job {
        let database = self.database
        return try await Eventually.value(
            "job \(id) to reach \(what) with every message sent", timeout: timeout,
            explain: {
                let job = try await database.job(id: id)
                let pending = try await database.notices().filter { $0.state == "pending" }.map { "\($0.notice.place) \($0.notice.plainText.prefix(60))" }
                return "\(String(describing: job?.state)) \(String(describing: job?.outcome)); pending: \(pending)"
            }
        ) {
            guard let job = try await database.job(id: id), done(job), try await database.pending(platform: "slack").count == 0 else { return nil }
            return job
        }
    }

    /// Sends a command that starts a job and waits for it to settle.
    func runToEnd(_ text: String, command: String = "/rollback", user: String = "U0123ALICE") async throws -> Job {
        let ack = try Harness.ephemeralText(try await self.command(text, command: command, user: user))
        return try await waitUntilSettled(job: try Harness.jobID(in: ack))
    }

    /// The job's live message `ts` in Slack, once posted.
    func liveTS(_ job: Job) async throws -> String? {
        try await database.references(jobID: job.id, platform: "slack").first { $0.role == "live" }?.ts
    }

    /// The live message's text as Slack shows it last (the post, then its newest update).
    func liveMessageText(job: Job) async throws -> String {
        let ts = try await liveTS(job)
        let updates = await world.slackCalls("chat.update").filter { $0.ts == ts }
        let post = await world.slackCalls("chat.postMessage").first { call in
            call.threadTS == nil && call.channel == "C0OPS" && call.text.contains("Job #\(job.id)")
        }
        return Self.unescape(updates.last?.text ?? post?.text ?? "")
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// A GET on the operators' listener.
    func operatorGet(_ path: String) async throws -> (status: Int, body: Data) {
        let port = try await Eventually.value("the operators' listener") { operatorPort }
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    static func rollbackCalls(_ h: Harness) throws -> [[String]] { try h.cluster.calls().filter { $0.prefix(2) == ["helm", "rollback"] } }

    func registryStatus(environment: String = "production") async throws -> RegistryStatus? {
        try await database.entry(model: "llama-2-7b", environment: environment)?.status
    }

    func auditEvents(job id: Int64) async throws -> [String] {
        try await database.entries(jobID: id).map(\.event)
    }
}
