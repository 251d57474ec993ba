import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Synchronization
import Testing

/// A local WebSocket server speaking Slack's Socket Mode as Slack does: `hello` when a
/// connection opens, envelopes the test sends, the client's acknowledgements recorded,
/// `disconnect` messages, and connections dropped without one.
final class FakeSocketMode: Sendable {
    enum Command: Sendable {
        case drop
    }

    private struct State {
        var connections = 0
        var outbound: WebSocketOutboundWriter?
        var commands: AsyncStream<Command>.Continuation?
        var acknowledgements: [String] = []
    }
    private let state = Mutex(State())

    /// Connections opened so far (each got a `hello`).
    var connections: Int { state.withLock { $0.connections } }

    /// The acknowledgements received, as JSON objects.
    var acknowledgements: [[String: Any]] {
        state.withLock { $0.acknowledgements }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func acknowledgement(of envelope: String) -> [String: Any]? { acknowledgements.first { $0["envelope_id"] as? String == envelope } }

    /// Sends a message on the newest connection.
    func send(_ object: [String: Any]) async throws {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        guard let outbound = state.withLock({ $0.outbound }) else { throw NotConnected() }
        try await outbound.write(.text(text))
    }
    struct NotConnected: Error {}

    /// Ends the newest connection without a `disconnect` message, as a network drop does.
    func drop() { _ = state.withLock { $0.commands }?.yield(.drop) }

    /// A slash command envelope; `fields` as Slack posts them to a request URL.
    static func slashCommand(envelope: String, fields: [String: String], retryAttempt: Int = 0) -> [String: Any] {
        [
            "envelope_id": envelope, "type": "slash_commands", "accepts_response_payload": true, "payload": fields,
            "retry_attempt": retryAttempt, "retry_reason": retryAttempt > 0 ? "timeout" : "",
        ]
    }

    static func interaction(envelope: String, payload: [String: Any]) -> [String: Any] {
        ["envelope_id": envelope, "type": "interactive", "accepts_response_payload": false, "payload": payload]
    }

    private func opened(_ outbound: WebSocketOutboundWriter, _ commands: AsyncStream<Command>.Continuation) {
        state.withLock {
            $0.connections += 1
            $0.outbound = outbound
            $0.commands = commands
        }
    }

    private func received(_ text: String) { state.withLock { $0.acknowledgements.append(text) } }

    /// Runs the server; `body` gets the URL `apps.connections.open` should answer.
    func run(_ body: @Sendable (_ url: String) async throws -> Void) async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/link") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, _ in
            let (commands, continuation) = AsyncStream<Command>.makeStream()
            self.opened(outbound, continuation)
            try await outbound.write(.text(#"{"type":"hello","num_connections":1,"connection_info":{"app_id":"A0COXSWAIN"}}"#))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { self.received(text) }
                    }
                }
                group.addTask {
                    for await command in commands where command == .drop { throw Dropped() }
                }
                _ = try await group.next()
                group.cancelAll()
            }
        }
        let app = Application(
            router: Router(), server: .http1WebSocketUpgrade(webSocketRouter: router), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("ws://127.0.0.1:\(port)/link?ticket=\(UUID().uuidString)")
        }
    }
    struct Dropped: Error {}
}
