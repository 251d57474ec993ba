import CoxswainCore
import Foundation
import Logging
import NIOSSL
import Synchronization
import WSClient

/// Slack's Socket Mode: Coxswain opens a WebSocket to Slack (`apps.connections.open` with
/// the app-level token) and receives slash commands and clicks over it, so it needs no
/// public endpoint. Every envelope is acknowledged with its `envelope_id` and the answer the
/// request URL would have returned. The connection is reopened when Slack asks
/// (`disconnect`), when it drops, or when pings go unanswered; failures back off up to
/// `maxBackoff`, and a connection that said hello resets the backoff.
public final class SlackSocketModeClient: Sendable {
    /// Answers one envelope: the acknowledgement's payload (a slash command's reply), or nil.
    public typealias Handler = @Sendable (SlackSocketModeMessage) async -> Data?

    private let slack: SlackWebClient
    private let appToken: Secret
    private let logger: Logger
    private let handle: Handler
    private let pingPeriod: Duration
    private let maxBackoff: Duration
    private let state = Mutex(State())

    private struct State {
        var problem: String? = "not connected to Slack yet"
        var connections = 0
    }

    public init(
        slack: SlackWebClient, appToken: Secret, logger: Logger, pingPeriod: Duration = .seconds(30), maxBackoff: Duration = .seconds(60),
        handle: @escaping Handler
    ) {
        self.slack = slack
        self.appToken = appToken
        self.logger = logger
        self.pingPeriod = pingPeriod
        self.maxBackoff = maxBackoff
        self.handle = handle
    }

    /// nil while connected; otherwise why not (for `/readyz`: without the connection no
    /// command reaches Coxswain).
    public var problem: String? { state.withLock { $0.problem } }

    /// Connections that said hello so far.
    public var connections: Int { state.withLock { $0.connections } }

    /// Keeps a connection open until the task is cancelled.
    public func run() async {
        var failures = 0
        while !Task.isCancelled {
            var greeted = false
            var wait: Duration?
            do {
                let url = try await slack.openSocketModeConnection(appToken: appToken)
                greeted = try await connect(url)
                if !Task.isCancelled { setProblem("the Socket Mode connection closed; reconnecting") }
            } catch SlackDeliveryError.rateLimited(_, let seconds) {
                setProblem("apps.connections.open is rate limited for \(seconds)s")
                wait = .seconds(seconds)
            } catch SlackDeliveryError.permanent(let message) {
                // invalid_auth, not_allowed_token_type: a configuration problem; keep trying
                // slowly so fixing it in Slack is enough, and say so loudly.
                setProblem("Slack refused the app token (\(message)); check SLACK_APP_TOKEN and that Socket Mode is enabled")
                logger.error("Socket Mode: \(message); SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write")
            } catch {
                if !Task.isCancelled { setProblem("the Socket Mode connection failed: \(error)") }
            }
            if Task.isCancelled { break }
            failures = greeted ? 0 : failures + 1
            let backoff = failures == 0 ? Duration.zero : min(maxBackoff, .milliseconds(500) * (1 << min(failures - 1, 16)))
            let delay = max(wait ?? .zero, backoff)
            if delay > .zero {
                logger.warning("Socket Mode: \(problem ?? "disconnected"); reconnecting in \(delay)")
                try? await Task.sleep(for: delay)
            }
        }
        setProblem("Socket Mode stopped")
    }

    private func setProblem(_ text: String?) { state.withLock { $0.problem = text } }

    /// One connection, until it closes; true when Slack said hello on it.
    private func connect(_ url: String) async throws -> Bool {
        let greeted = Mutex(false)
        let tls: TLSConfiguration? = url.lowercased().hasPrefix("wss:") ? .makeClientConfiguration() : nil
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: pingPeriod))
        let logger = self.logger, handle = self.handle
        let client = WebSocketClient(url: url, configuration: configuration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for try await frame in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = frame else { continue }
                    let message: SlackSocketModeMessage
                    do { message = try SlackSocketModeMessage(text: text) } catch {
                        logger.warning("Socket Mode: ignored a message from Slack: \(error)")
                        continue
                    }
                    switch message.kind {
                    case .hello:
                        greeted.withLock { $0 = true }
                        let count = self.state.withLock { state -> Int in
                            state.problem = nil
                            state.connections += 1
                            return state.connections
                        }
                        logger.notice("Socket Mode: connected to Slack (connection \(count))")
                    case .disconnect(let reason):
                        // Answer what is in flight on this connection, then open the next.
                        logger.notice("Socket Mode: Slack asks to reconnect (\(reason))")
                        try await group.waitForAll()
                        try await outbound.close(.normalClosure, reason: "reconnecting")
                        return
                    case .slashCommand, .interaction, .other:
                        guard let envelope = message.envelopeID else { continue }
                        if message.retryAttempt > 0 { logger.info("Socket Mode: Slack redelivered \(envelope) (attempt \(message.retryAttempt))") }
                        group.addTask {
                            let payload: Data?
                            if case .other = message.kind { payload = nil } else { payload = await handle(message) }
                            try await outbound.write(.text(SlackSocketModeMessage.acknowledgement(envelopeID: envelope, payload: payload)))
                        }
                    }
                }
            }
        }
        _ = try await client.run()
        return greeted.withLock { $0 }
    }
}
