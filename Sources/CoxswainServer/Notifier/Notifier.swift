import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat
import ServiceLifecycle
import Logging

/// Delivers outgoing messages from the store to Slack, in order per job, with retries,
/// exponential backoff and Slack's `Retry-After` honoured on HTTP 429. Slack being slow
/// or down holds up only the messages, never a job.
public struct Notifier: Service {
    let database: AppDatabase
    let slack: SlackWebClient
    let signal: WorkSignal
    let now: @Sendable () -> Date
    let pollInterval: Duration
    let logger: Logger
    /// After this many attempts a message is given up on (about an hour of backoff).
    let maxAttempts = 12

    public init(database: AppDatabase, slack: SlackWebClient, signal: WorkSignal, now: @escaping @Sendable () -> Date, pollInterval: Duration, logger: Logger) {
        self.database = database; self.slack = slack; self.signal = signal; self.now = now; self.pollInterval = pollInterval; self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let batch = (try? await database.nextDeliverables(now: now(), limit: 20)) ?? []
            // Messages of different jobs go out concurrently; one job's stay in order
            // because only the first pending message of each job is in the batch.
            await withDiscardingTaskGroup { group in
                for item in batch { group.addTask { await deliver(item) } }
            }
            if batch.isEmpty {
                try? await cancelWhenGracefulShutdown { await signal.wait(timeout: pollInterval) }
            }
        }
    }

    func deliver(_ item: Deliverable) async {
        let message = item.message
        guard let id = message.id else { return }
        do {
            var postedTS: String?
            switch message.kind {
            case .postLive, .post, .postApproval:
                postedTS = try await slack.postMessage(channel: message.channel ?? "", text: message.text, blocksJSON: message.blocksJSON, threadTS: nil)
            case .updateApproval:
                guard let ts = item.approvalMessageTS else { throw SlackDeliveryError.permanent("the approval request was never posted") }
                try await slack.updateMessage(channel: item.jobChannel ?? message.channel ?? "", ts: ts, text: message.text, blocksJSON: message.blocksJSON)
            case .updateLive:
                guard let ts = item.liveMessageTS else { throw SlackDeliveryError.permanent("the live message was never posted") }
                try await slack.updateMessage(channel: item.jobChannel ?? message.channel ?? "", ts: ts, text: message.text, blocksJSON: message.blocksJSON)
            case .threadReply:
                guard let ts = item.liveMessageTS else { throw SlackDeliveryError.permanent("the live message was never posted") }
                _ = try await slack.postMessage(channel: item.jobChannel ?? message.channel ?? "", text: message.text, blocksJSON: nil, threadTS: ts)
            case .ephemeral:
                try await slack.respond(responseURL: message.responseURL ?? "", text: message.text)
            }
            try await database.markDelivered(messageID: id, postedTS: [.postLive, .postApproval].contains(message.kind) ? postedTS : nil, now: now())
        } catch let error as SlackDeliveryError {
            await handle(error, message: message)
        } catch {
            logger.error("outgoing message \(id): \(error)")
        }
    }

    private func handle(_ error: SlackDeliveryError, message: OutgoingMessage) async {
        guard let id = message.id else { return }
        let attempt = message.attempts + 1
        switch error {
        case .permanent(let reason):
            logger.error("outgoing message \(id) to \(message.channel ?? "response_url") failed for good: \(reason)")
            try? await database.markFailed(messageID: id, error: reason)
        case .rateLimited, .transient:
            guard attempt < maxAttempts else {
                try? await database.markFailed(messageID: id, error: "\(error) after \(attempt) attempts")
                return
            }
            let delay: Double
            if case .rateLimited(let seconds) = error { delay = Double(seconds) }
            else { delay = min(300, 0.5 * pow(2, Double(attempt - 1))) }
            logger.warning("outgoing message \(id): \(error); retrying in \(delay)s")
            try? await database.scheduleRetry(messageID: id, error: error.description, notBefore: now().addingTimeInterval(delay))
        }
    }
}
