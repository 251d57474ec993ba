import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Makes this server the one that runs jobs and sends messages for its database, or waits
/// while another one is: two servers on one database (a rolling deploy, a second replica
/// started by mistake) must never run two helm operations on one release. The lease is
/// renewed well within its duration; it is released on shutdown, after the worker and the
/// notifier have stopped, or expires if this server dies.
struct LeaseKeeper: Service, Sendable, CustomStringConvertible {
    /// Whether this server holds the lease, shared by the services that need to know.
    final class State: Sendable {
        let held = Mutex(false)
        let acquired = WorkSignal()
    }

    private let leases: any LeaseStore
    private let serverID: String
    private let duration: Duration
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let state = State()

    init(leases: any LeaseStore, serverID: String, duration: Duration, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.leases = leases; self.serverID = serverID; self.duration = duration; self.now = now; self.logger = logger
    }

    var description: String { "LeaseKeeper(\(serverID))" }

    private var acquired: WorkSignal { state.acquired }

    var isHeld: Bool { state.held.withLock { $0 } }

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
        var heldUntil = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let mine = Lease(
                holder: serverID, host: ProcessInfo.processInfo.hostName, pid: Int(ProcessInfo.processInfo.processIdentifier),
                expiresAt: now().addingTimeInterval(duration.secondsDouble))
            do {
                let holder = try await leases.acquire(mine, now: now())
                if holder.holder == serverID {
                    heldUntil = holder.expiresAt
                    if !isHeld {
                        logger.notice("this server holds the database lease; it runs jobs and sends messages")
                        waitingFor = nil
                    }
                    state.held.withLock { $0 = true }
                    acquired.signal()
                } else {
                    state.held.withLock { $0 = false }
                    if waitingFor?.holder != holder.holder {
                        let who = "another coxswain (\(holder.host), pid \(holder.pid)) holds this database until \(holder.expiresAt)"
                        logger.warning("\(who); this one answers requests but runs no jobs until that lease is released or expires")
                        waitingFor = holder
                    }
                }
            } catch {
                // Without a renewed lease another server may take over once it expires.
                if isHeld, now() > heldUntil.addingTimeInterval(-duration.secondsDouble / 3) {
                    state.held.withLock { $0 = false }
                }
                logger.error("could not renew the database lease: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.duration / 3) }
        }
        if isHeld {
            state.held.withLock { $0 = false }
            do { try await leases.release(holder: serverID) } catch { logger.error("could not release the database lease: \(error)") }
        }
    }
}
