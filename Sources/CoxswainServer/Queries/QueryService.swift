import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Work for the cluster waiting to be done: a question, or sync to resume.
struct QueryRequest: Sendable {
    var work: DeferredWork
    /// Who asked, where, and the way back to them (`replyRoute`: a Slack response URL).
    var origin: CommandOrigin
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

/// Does what the webhook deferred in the background (two at a time) and sends the answers
/// through the outbox: to the asker, or to the channel if `--public`. A resumed sync is said in
/// the channel with its audit entry, in one transaction.
struct QueryService: Service, CustomStringConvertible {
    let queue: QueryQueue
    let dispatcher: Dispatcher
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
        let origin = request.origin
        let channel = Notice.Place.channel(origin.channel)
        let answer = await dispatcher.perform(request.work, origin: origin, place: channel)
        guard !answer.announced else { return notifierSignal.signal() }
        let isPublic = request.work.isPublic
        let notice = Notice.message(answer.text, jobID: nil, place: isPublic ? channel : .person(origin.user))
        do {
            try await Persistence.patient(logger).run("store an answer") {
                try await outbox.enqueue([notice], platform: origin.platform, route: isPublic ? nil : origin.replyRoute, now: now())
            }
            notifierSignal.signal()
        } catch {
            logger.error("could not store the answer to \(request.work): \(error)")
        }
    }
}
