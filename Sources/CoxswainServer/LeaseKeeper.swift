import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Makes this server the one that sends messages, watches changes and keeps house for its
/// database, or waits while another one is: that work must happen once, however many servers
/// share the database (jobs are claimed one by one instead, by every server). The lease is
/// renewed well within its duration; it is released on shutdown, after the notifier has
/// stopped, or expires if this server dies, or is taken at once when its holder is known to be
/// gone (the same machine and process space, and its process no longer exists).
struct LeaseKeeper: Service, Sendable, CustomStringConvertible {
    /// Whether this server holds the lease, shared by the services that need to know.
    final class State: Sendable {
        /// Until when this server holds it, by its own clock: a server paused past it (SIGSTOP,
        /// a frozen VM) stops acting as the holder the moment it wakes, before it renews.
        let heldUntil = Mutex<Date?>(nil)
        let acquired = WorkSignal()
    }

    private let leases: any LeaseStore
    private let identity: RunnerIdentity
    private let duration: Duration
    private let now: @Sendable () -> Date
    private let isAlive: @Sendable (Int) -> Bool
    private let logger: Logger
    private let state = State()

    init(
        leases: any LeaseStore, identity: RunnerIdentity, duration: Duration, now: @escaping @Sendable () -> Date,
        isAlive: @escaping @Sendable (Int) -> Bool = RunnerIdentity.isAlive, logger: Logger
    ) {
        self.leases = leases; self.identity = identity; self.duration = duration; self.now = now; self.isAlive = isAlive; self.logger = logger
    }

    var description: String { "LeaseKeeper(\(identity.id))" }

    private var acquired: WorkSignal { state.acquired }

    var isHeld: Bool {
        let until = state.heldUntil.withLock { $0 }
        return until.map { now() < $0 } ?? false
    }

    /// Returns once this server holds the lease (true), or when it shuts down first (false).
    func waitUntilHeld() async -> Bool {
        while !isHeld {
            if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            try? await cancelWhenGracefulShutdown { await self.acquired.wait(timeout: .seconds(1)) }
        }
        return true
    }

    func run() async throws {
        var waitingFor: Lease?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let mine = Lease(
                holder: identity.id, host: identity.host, pid: identity.pid, processSpace: identity.processSpace,
                expiresAt: now().addingTimeInterval(duration.secondsDouble))
            do {
                var holder = try await leases.acquire(mine, now: now(), replacing: nil)
                if holder.holder != identity.id, identity.knowsGone(pid: holder.pid, processSpace: holder.processSpace, isAlive: isAlive) {
                    logger.notice("the lease holder \(holder.host) (pid \(holder.pid)) is no longer running on this machine; taking the lease at once")
                    holder = try await leases.acquire(mine, now: now(), replacing: holder.holder)
                }
                if holder.holder == identity.id {
                    if !isHeld {
                        logger.notice("this server holds the database lease; it sends messages, watches changes and keeps house")
                        waitingFor = nil
                    }
                    state.heldUntil.withLock { $0 = holder.expiresAt }
                    acquired.signal()
                } else {
                    state.heldUntil.withLock { $0 = nil }
                    if waitingFor?.holder != holder.holder {
                        let who = "another coxswain (\(holder.host), pid \(holder.pid)) holds this database's lease until \(holder.expiresAt)"
                        logger.notice("\(who); this one answers requests and runs jobs, and sends no messages until that lease is released or expires")
                        waitingFor = holder
                    }
                }
            } catch {
                // Without a renewed lease another server may take over once it expires; `isHeld` ends with it.
                logger.error("could not renew the database lease: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.duration / 3) }
        }
        if isHeld {
            state.heldUntil.withLock { $0 = nil }
            do { try await leases.release(holder: identity.id) } catch { logger.error("could not release the database lease: \(error)") }
        }
    }
}
