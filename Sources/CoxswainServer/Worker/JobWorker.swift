import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Claims runnable jobs and runs them: one job per release (and per model in an
/// environment) at a time, jobs of different releases in parallel up to
/// `worker.max_concurrent_jobs`. Every replica does: each job is claimed by one runner, with
/// a claim it renews (`JobClaim`). A running job whose claim expired, or whose runner's
/// process is gone from this machine, is taken over and goes on where the release says.
/// Housekeeping and reading missing bases run on the lease holder only.
///
/// On shutdown it stops claiming, lets running jobs finish within `worker.shutdown_grace`,
/// then stops the rest and records them as interrupted with their last step.
public struct JobWorker: Service, CustomStringConvertible {
    let runner: JobRunner
    let housekeeping: Housekeeping
    let bases: BasisReader
    let worker: CoxswainConfiguration.Worker
    let lifecycle: JobLifecycle
    let identity: RunnerIdentity
    /// How long a claim lasts unrenewed (`worker.lease_duration`).
    let claimDuration: Duration
    let signal: WorkSignal
    let notifierSignal: WorkSignal
    let lease: LeaseKeeper
    let state: ServerState
    let pollInterval: Duration
    let now: @Sendable () -> Date
    let logger: Logger
    /// Told when a job ends, so its watch starts at once and its audit entries are signed.
    var jobEnded: [WorkSignal] = []
    /// Whether a pid of this runner's process space is alive (a test may say otherwise).
    var isAlive: @Sendable (Int) -> Bool = RunnerIdentity.isAlive

    public var description: String { "JobWorker" }

    public func run() async throws {
        let running = RunningJobs()
        let slots = worker.maxConcurrentJobs
        // Claims are renewed every third of their duration: looking for abandoned ones that often
        // (at most every 5 s, and at once at start) finds each in time, and costs little between.
        let scanEvery = max(pollInterval, min(claimDuration / 3, .seconds(5)))
        var nextScan = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Each read below is an index probe: a pass costs the same with 10 or 10,000 jobs.
            let housekept = lease.isHeld ? await housekeeping.run() : nil
            var wrote = housekept?.wrote ?? false
            var free = slots - (await running.count)
            if free > 0, ContinuousClock.now >= nextScan {
                nextScan = ContinuousClock.now + scanEvery
                for job in await takeOver(limit: free) {
                    wrote = true
                    await start(job, in: running)
                }
            }
            free = slots - (await running.count)
            while free > 0, let job = await claim() {
                wrote = true
                free -= 1
                logger.info("job \(job.id) started: \(job.request.command) \(job.request.release)")
                await start(job, in: running)
            }
            if lease.isHeld, await bases.readMissing() { wrote = true }
            if wrote { notifierSignal.signal() }
            let wait = min(pollInterval, housekept?.nextDue ?? pollInterval)
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

    private func start(_ job: Job, in running: RunningJobs) async {
        let claim = JobClaim(job, runner: identity, duration: claimDuration, jobs: runner.jobs, lifecycle: lifecycle, now: now, logger: logger)
        await running.start(job.id) {
            await runner.run(job, claim: claim)
            await settleIfStillRunning(job.id, claim)
            signal.signal()  // a job of the same release may be waiting
            notifierSignal.signal()
            jobEnded.forEach { $0.signal() }
        }
    }

    private func claim() async -> Job? {
        let lifecycle = self.lifecycle, identity = self.identity, now = self.now, jobs = runner.jobs
        let lasting = claimDuration.secondsDouble
        do {
            return try await jobs.claimNext(now: now()) { lifecycle.claimed($0, by: identity, until: now().addingTimeInterval(lasting), now: now()) }
        } catch {
            logger.error("claiming a job failed: \(error)")
            return nil
        }
    }

    /// Running jobs whose runner is gone: each is claimed with the next generation (only one
    /// runner's write can win: it is conditional on the job's version), then run from where
    /// it stopped.
    private func takeOver(limit: Int) async -> [Job] {
        let jobs = runner.jobs, lifecycle = self.lifecycle, identity = self.identity, now = self.now, isAlive = self.isAlive
        let running: [Job]
        do {
            running = try await jobs.runningJobs()
        } catch {
            logger.error("could not look for jobs to take over: \(error)")
            return []
        }
        var taken: [Job] = []
        for job in running where taken.count < limit {
            guard let why = job.abandonment(by: identity, now: now(), isAlive: isAlive) else { continue }
            let change = lifecycle.takenOver(job, by: identity, why: why, until: now().addingTimeInterval(claimDuration.secondsDouble), now: now())
            do {
                let mine = try await jobs.commit(change, now: now())
                logger.warning("job \(job.id) (\(job.request.release)): \(mine.handover ?? "taken over") (\(why.words))")
                taken.append(mine)
            } catch is StoreConflict {
                continue  // another runner took it first, or its runner renewed the claim just now
            } catch {
                logger.error("could not take job \(job.id) over: \(error)")
            }
        }
        return taken
    }

    /// A runner that returned without ending its job (a bug, or the store gave up) must not
    /// leave the release blocked.
    private func settleIfStillRunning(_ id: Int64, _ claim: JobClaim) async {
        // Read patiently: a job left running because the store did not answer must not stay so.
        let jobs = runner.jobs
        guard let job = try? await Persistence.patient(logger).run("read job #\(id)", { try await jobs.job(id: id) }),
            job.holds(claim.runner, generation: claim.generation)
        else { return }
        logger.error("job \(id) was still running after its runner returned; recording it as interrupted")
        await runner.interrupt(id, why: "by an internal error", claim: claim)
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
