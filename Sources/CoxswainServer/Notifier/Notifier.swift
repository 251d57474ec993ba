import CoxswainChat
import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Delivers the outbox to one chat platform (Slack, Mattermost) while this server holds the database lease: one job's
/// notices in order, different jobs' concurrently. Each send is claimed in the store (marked
/// as being sent, taken with SKIP LOCKED on PostgreSQL), and only the holder sends, so no
/// message goes out twice from two replicas. Each time it takes the lease (after a crash, or
/// from a holder that died) it first settles the notices that were being sent (found in the
/// channel, or sent again). On shutdown it
/// keeps delivering what is due for a short while, so a job's last words go out before the
/// process exits.
public struct Notifier: Service, CustomStringConvertible {
    let delivery: any NoticeDelivery
    let outbox: any OutboxStore
    let signal: WorkSignal
    let lease: LeaseKeeper
    let now: @Sendable () -> Date
    let pollInterval: Duration
    /// How long shutdown waits for the outbox to drain.
    let flushTimeout: Duration
    let logger: Logger

    public var description: String { "Notifier(\(delivery.platform))" }
    /// "Slack", "Mattermost": as log lines name it.
    var platformName: String { delivery.platform.prefix(1).uppercased() + delivery.platform.dropFirst() }

    /// Notices taken from the outbox at once; different jobs' go out concurrently.
    static let batchSize = 20
    /// How long new work gathers while a rate limit holds (see `run`): short beside Slack's
    /// `Retry-After` (seconds), so a message another method could send waits no longer than this.
    static let gatherWhileHeld = Duration.milliseconds(250)

    public func run() async throws {
        guard await lease.waitUntilHeld() else { return }
        await reconcile()
        var holding = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard lease.isHeld else {
                holding = false
                try? await cancelWhenGracefulShutdown { await signal.wait(timeout: pollInterval) }
                continue
            }
            // Held again after another server held it: what that one was sending when it stopped is settled first.
            if !holding {
                await reconcile()
                holding = true
            }
            // Idle, this is one read: when the next notice falls due, if any waits.
            let wait = await untilNextDue()
            if wait > .zero {
                if delivery.rateLimitedUntil != nil {
                    // While a rate limit lasts, a new job's messages fall due when it ends: woken by
                    // each one, this would be a read per request. Anything else waits at most this long.
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(wait, Self.gatherWhileHeld)) }
                } else {
                    try? await cancelWhenGracefulShutdown { await signal.wait(timeout: wait) }
                }
                continue
            }
            let tried = await deliverDue()
            if tried == 0 {
                // Due but not deliverable (another process took it): do not spin.
                try? await cancelWhenGracefulShutdown { await signal.wait(timeout: .milliseconds(50)) }
            } else if let gather = Self.gathering(afterTrying: tried, heldUntil: delivery.rateLimitedUntil, now: now()) {
                // No signal wakes this sleep: new jobs' notices gather meanwhile.
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: gather) }
            }
        }
        // Only the holder sends: another replica's last words go out through the holder.
        if lease.isHeld { await flush() }
    }

    /// How long new work gathers after a pass that tried `tried` notices, if at all. While Slack
    /// holds a method back, every new job's first post would only be claimed and put back: after
    /// a batch that was not full, the next waits a moment (never past the hold) and puts them
    /// back together, not one by one as they arrive.
    static func gathering(afterTrying tried: Int, heldUntil: Date?, now: Date) -> Duration? {
        guard tried > 0, tried < batchSize, let heldUntil else { return nil }
        return min(gatherWhileHeld, .milliseconds(max(1, Int(heldUntil.timeIntervalSince(now) * 1000))))
    }

    /// Sends what is due now; returns how many were tried.
    func deliverDue() async -> Int {
        let batch: [OutboxItem]
        do { batch = try await outbox.due(platform: delivery.platform, now: now(), limit: Self.batchSize) } catch {
            logger.error("reading the outbox failed: \(error)")
            return 0
        }
        // Those Slack holds back by a rate limit wait in one write; should that fail, each is
        // tried on its own below (and postponed on its own).
        let toSend = (try? await Persistence.patient(logger).run("postpone rate-limited messages") { try await delivery.postponeHeld(batch) }) ?? batch
        // Different jobs' notices go out concurrently; one job's stay in order because only
        // the first undelivered notice of each job is in a batch.
        await withDiscardingTaskGroup { group in
            for item in toSend { group.addTask { await deliver(item) } }
        }
        // New jobs' messages are written due when the hold ends, instead of each being taken and put back.
        if let until = delivery.postsHeldUntil { outbox.holdPosts(on: delivery.platform, until: until) }
        return batch.count
    }

    @discardableResult
    private func deliver(_ item: OutboxItem) async -> DeliveryOutcome? {
        do {
            let outcome = try await Persistence.patient(logger).run("deliver message \(item.id)") { try await delivery.deliver(item) }
            switch outcome {
            case .delivered, .postponed: break
            case .retrying(let reason): logger.warning("message \(item.id) to \(platformName): \(reason); retrying")
            case .failed(let reason): logger.error("message \(item.id) to \(platformName) failed for good: \(reason)")
            }
            return outcome
        } catch {
            logger.error("message \(item.id): \(error)")
            return nil
        }
    }

    private func reconcile() async {
        do {
            let items = try await outbox.inFlight(platform: delivery.platform)
            guard !items.isEmpty else { return }
            let (found, resent) = try await delivery.reconcile(items)
            logger.notice("\(items.count) message(s) were being sent when Coxswain stopped: \(found) found in \(platformName), \(resent) to send again")
        } catch {
            logger.error("could not settle messages that were being sent: \(error)")
        }
    }

    /// Zero when a notice is due now; else how long to sleep (at most the poll interval).
    private func untilNextDue() async -> Duration {
        guard let next = try? await outbox.nextDue(platform: delivery.platform) else { return pollInterval }
        let seconds = next.timeIntervalSince(now())
        return seconds <= 0.001 ? .zero : min(pollInterval, .milliseconds(Int(seconds * 1000) + 5))
    }

    /// On shutdown: what is due goes out, for at most `flushTimeout`, including edits held
    /// back by the edit interval (due within a second).
    private func flush() async {
        let deadline = ContinuousClock.now + flushTimeout
        while ContinuousClock.now < deadline {
            if await deliverDue() > 0 { continue }
            guard let next = try? await outbox.nextDue(platform: delivery.platform) else { break }
            let wait = next.timeIntervalSince(now())
            guard wait > 0, wait < 2, ContinuousClock.now + .milliseconds(Int(wait * 1000)) < deadline else { break }
            try? await Task.sleep(for: .milliseconds(Int(wait * 1000) + 5))
        }
        if let pending = try? await outbox.pending(platform: delivery.platform), pending.count > 0 {
            logger.warning("shutting down with \(pending.count) message(s) not delivered yet; they go out after the next start")
        }
    }
}
