import CoxswainChat
import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Slack over Socket Mode: the connection Coxswain opens with the app-level token takes the
/// place of the request URLs, and each envelope goes to the same controllers they use, so
/// the answers, the permission checks and the deduplication are the same. The connection is
/// the authentication (only Slack holds it open with our token): nothing here checks
/// signatures. It stops after the worker and the notifier, so Slack is answered until the
/// end of a shutdown, as over HTTP.
struct SocketModeFrontEnd: Service {
    let client: SlackSocketModeClient
    private static let sortedEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    init(
        slack: SlackWebClient, appToken: Secret, commands: SlashCommandController, interactions: InteractionController, metrics: ServerMetrics,
        logger: Logger
    ) {
        client = SlackSocketModeClient(slack: slack, appToken: appToken, logger: logger) { message in
            let started = ContinuousClock.now
            switch message.kind {
            case .slashCommand:
                // The idempotency key is the trigger_id, the same in a redelivery; the raw
                // body only stands in when there is none. (JSONEncoder: JSONSerialization sorts keys through ICU.)
                let raw = (try? Self.sortedEncoder.encode(message.fields)) ?? Data()
                let answer = await commands.answer(fields: message.fields, rawBody: raw)
                metrics.request(path: "socket:slash_commands", status: 200, duration: .now - started)
                return answer
            case .interaction:
                await interactions.answer(fields: message.fields)
                metrics.request(path: "socket:interactive", status: 200, duration: .now - started)
                return nil
            case .hello, .disconnect, .other:
                return nil
            }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await client.run() }
    }
}
