import Foundation
import CoxswainCore
import CoxswainStore
import ServiceLifecycle
import Logging

/// A read-only question waiting for its answer.
struct QueryRequest: Sendable {
    var query: Query
    var isPublic: Bool
    var channel: String
    var responseURL: String?
}

/// Hands questions from the webhook to the `QueryService` without waiting. Bounded: when
/// the queue is full the webhook says so instead of piling up cluster calls.
final class QueryQueue: Sendable {
    let stream: AsyncStream<QueryRequest>
    private let continuation: AsyncStream<QueryRequest>.Continuation

    init(capacity: Int = 64) {
        (stream, continuation) = AsyncStream.makeStream(of: QueryRequest.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// False when the queue is full.
    func submit(_ request: QueryRequest) -> Bool {
        if case .enqueued = continuation.yield(request) { return true }
        return false
    }
}

/// Answers read-only questions in the background (two at a time) and sends the answers
/// through the outbox: to the asker via the response URL, or to the channel if `--public`.
struct QueryService: Service {
    let queue: QueryQueue
    let queries: ReadOnlyQueries
    let database: AppDatabase
    let notifierSignal: WorkSignal
    let now: @Sendable () -> Date
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                let slots = Slots(limit: 2)
                for await request in queue.stream {
                    while !(await slots.take()) { try? await Task.sleep(for: .milliseconds(20)) }
                    group.addTask {
                        await answer(request)
                        await slots.give()
                    }
                }
            }
        }
    }

    private func answer(_ request: QueryRequest) async {
        let text = await queries.answer(request.query)
        let draft: OutgoingDraft
        if request.isPublic {
            draft = OutgoingDraft(kind: .post, channel: request.channel, text: text)
        } else if let url = request.responseURL {
            draft = OutgoingDraft(kind: .ephemeral, responseURL: url, text: text)
        } else {
            return
        }
        do {
            try await database.enqueueMessages([draft], now: now())
            notifierSignal.signal()
        } catch {
            logger.error("could not store the answer to \(request.query): \(error)")
        }
    }
}
