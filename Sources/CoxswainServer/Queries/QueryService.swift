import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// A read-only question waiting for its answer.
struct QueryRequest: Sendable {
    var query: Query
    var isPublic: Bool
    var user: String
    var channel: String
    /// The front end's way back to the asker (a Slack response URL).
    var route: String?
    var platform: String
    var readable: Set<String>
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
/// through the outbox: to the asker, or to the channel if `--public`.
struct QueryService: Service, CustomStringConvertible {
    let queue: QueryQueue
    let queries: ReadOnlyQueries
    let outbox: any OutboxStore
    let notifierSignal: WorkSignal
    let now: @Sendable () -> Date
    let logger: Logger

    var description: String { "QueryService" }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await request in queue.stream {
                    // Two cluster questions at a time; the next waits for one to finish.
                    if running >= 2, await group.next() != nil { running -= 1 }
                    running += 1
                    group.addTask { await answer(request) }
                }
            }
        }
    }

    private func answer(_ request: QueryRequest) async {
        let text = await queries.answer(request.query, readable: request.readable)
        let notice = Notice.message(text, jobID: nil, place: request.isPublic ? .channel(request.channel) : .person(request.user))
        do {
            try await Persistence.patient(logger).run("store an answer") {
                try await outbox.enqueue([notice], platform: request.platform, route: request.isPublic ? nil : request.route, now: now())
            }
            notifierSignal.signal()
        } catch {
            logger.error("could not store the answer to \(request.query): \(error)")
        }
    }
}
