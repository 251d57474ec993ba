import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Claims runnable jobs and runs them: one job per release (and per model in an
/// environment) at a time, jobs of different releases in parallel up to
/// `worker.max_concurrent_jobs`. Only while this server holds the database lease.
///
/// On shutdown it stops claiming, lets running jobs finish within `worker.shutdown_grace`,
/// then stops the rest and records them as interrupted with their last step. A job that a
/// crash interrupted is recorded so at the next start, by whichever server then holds the lease.
public struct JobWorker: Service, CustomStringConvertible {
    let runner: JobRunner
    let housekeeping: Housekeeping
    let bases: BasisReader
    let worker: CoxswainConfiguration.Worker
    let leases: any LeaseStore
    let lifecycle: JobLifecycle
    let serverID: String
    let signal: WorkSignal
    let notifierSignal: WorkSignal
    let lease: LeaseKeeper
    let state: ServerState
    let pollInterval: Duration
    let now: @Sendable () -> Date
    let logger: Logger
    /// Told when a job ends, so its watch starts at once.
    var jobEnded = WorkSignal()

    public var description: String { "JobWorker" }

    public func run() async throws {
        guard await lease.waitUntilHeld() else { return }
        await recover(runner)
        let running = RunningJobs()
        let slots = worker.maxConcurrentJobs
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard lease.isHeld else {
                try? await cancelWhenGracefulShutdown { await signal.wait(timeout: pollInterval) }
                continue
            }
            // Each read below is an index probe: a pass costs the same with 10 or 10,000 jobs.
            var wrote = await housekeeping.run()
            while await running.count < slots {
                guard let job = await claim(runner) else { break }
                wrote = true
                logger.info("job \(job.id) started: \(job.request.command) \(job.request.release)")
                await running.start(job.id) {
                    await runner.run(job)
                    await settleIfStillRunning(job.id, runner)
                    signal.signal()  // a job of the same release may be waiting
                    notifierSignal.signal()
                    jobEnded.signal()
                }
            }
            if await bases.readMissing() { wrote = true }
            if wrote { notifierSignal.signal() }
            let wait = min(pollInterval, await housekeeping.untilNextDue())
            try? await cancelWhenGracefulShutdown { await signal.wait(timeout: wait) }
        }
        state.startDraining()
        let grace = worker.shutdownGrace
        let stillRunning = await running.count
        if stillRunning > 0 { logger.notice("shutting down: waiting up to \(grace) for \(stillRunning) running job(s)") }
        let stopped = await running.drain(grace: grace.duration)
        if stopped > 0 { logger.warning("stopped \(stopped) job(s) that did not finish within \(grace); recorded as interrupted") }
        notifierSignal.signal()
    }

    private func claim(_ runner: JobRunner) async -> Job? {
        let lifecycle = self.lifecycle, serverID = self.serverID, now = self.now, jobs = runner.jobs
        do {
            return try await jobs.claimNext(now: now()) { lifecycle.claimed($0, runner: serverID, now: now()) }
        } catch {
            logger.error("claiming a job failed: \(error)")
            return nil
        }
    }

    /// Jobs left `running` by a server that is gone (a crash, a kill): recorded as interrupted
    /// with their last completed step, the release left as it was.
    private func recover(_ runner: JobRunner) async {
        do {
            let leases = self.leases, serverID = self.serverID
            let orphans = try await Persistence.patient(logger).run("find jobs left running") { try await leases.orphanedJobs(holder: serverID) }
            for job in orphans {
                logger.warning(
                    "job \(job.id) (\(job.request.release)) was left running by \(job.runnerID ?? "an earlier server"); recording it as interrupted")
                await runner.interrupt(job.id, why: "by a restart")
            }
            if !orphans.isEmpty { notifierSignal.signal() }
        } catch {
            logger.error("could not look for interrupted jobs: \(error)")
        }
    }

    /// A runner that returned without ending its job (a bug, or the store gave up) must not
    /// leave the release blocked.
    private func settleIfStillRunning(_ id: Int64, _ runner: JobRunner) async {
        // Read patiently: a job left running because the store did not answer must not stay so.
        let jobs = runner.jobs
        guard let job = try? await Persistence.patient(logger).run("read job #\(id)", { try await jobs.job(id: id) }), job.state == .running else { return }
        logger.error("job \(id) was still running after its runner returned; recording it as interrupted")
        await runner.interrupt(id, why: "by an internal error")
    }
}

/// The jobs this server runs now, so shutdown can wait for them and then stop them.
actor RunningJobs {
    private var tasks: [Int64: Task<Void, Never>] = [:]
    private let finished = WorkSignal()

    var count: Int { tasks.count }

    func start(_ id: Int64, _ body: @escaping @Sendable () async -> Void) {
        tasks[id] = Task {
            await body()
            await self.done(id)
        }
    }

    private func done(_ id: Int64) {
        tasks[id] = nil
        finished.signal()
    }

    /// Waits for running jobs up to `grace`, then cancels the rest (their runners record them
    /// as interrupted) and waits for that. Returns how many had to be stopped.
    func drain(grace: Duration) async -> Int {
        let deadline = ContinuousClock.now + grace
        while !tasks.isEmpty, ContinuousClock.now < deadline {
            await finished.wait(timeout: min(.seconds(1), deadline - ContinuousClock.now))
        }
        let remaining = Array(tasks.values)
        for task in remaining { task.cancel() }
        for task in remaining { await task.value }
        return remaining.count
    }
}
