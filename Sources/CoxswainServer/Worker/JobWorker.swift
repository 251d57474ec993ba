import Foundation
import CoxswainCore
import CoxswainStore
import ServiceLifecycle
import Logging

/// Claims runnable jobs and runs them: one job per release at a time, jobs of different
/// releases in parallel up to `worker.max_concurrent_jobs`.
///
/// On graceful shutdown it stops claiming and lets running jobs finish: a helm operation
/// is never killed halfway. A job that a crash did interrupt is marked so at the next start.
public struct JobWorker: Service {
    let dependencies: ServerDependencies
    let signal: WorkSignal
    let notifierSignal: WorkSignal

    public init(dependencies: ServerDependencies, signal: WorkSignal, notifierSignal: WorkSignal) {
        self.dependencies = dependencies; self.signal = signal; self.notifierSignal = notifierSignal
    }

    public func run() async throws {
        let reporter = JobReporter(dependencies: dependencies)
        let interrupted = try await dependencies.database.interruptRunningJobs(now: dependencies.now()) { job, steps in
            reporter.interruption(job: job, steps: steps)
        }
        for job in interrupted { dependencies.logger.warning("job \(job.id ?? 0) (\(job.release)) was interrupted by a restart; marked interrupted") }
        if !interrupted.isEmpty { notifierSignal.signal() }

        let runner = JobRunner(dependencies: dependencies)
        let slots = Slots(limit: dependencies.configuration.worker.maxConcurrentJobs)
        let housekeeping = Housekeeping(dependencies: dependencies, reporter: reporter, approvalMessages: runner.approvalMessages)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if await housekeeping.run() { notifierSignal.signal() }
                var claimedAny = false
                while await slots.take() {
                    let job: JobRecord?
                    do { job = try await dependencies.database.claimNextRunnable(now: dependencies.now()) }
                    catch { dependencies.logger.error("claiming a job failed: \(error)"); job = nil }
                    guard let job else { await slots.give(); break }
                    claimedAny = true
                    dependencies.logger.info("job \(job.id ?? 0) started: \(job.command) \(job.release)")
                    group.addTask {
                        await runner.run(job)
                        await slots.give()
                        signal.signal()        // a job of the same release may be waiting
                        notifierSignal.signal()
                    }
                }
                if claimedAny { notifierSignal.signal() }
                try? await cancelWhenGracefulShutdown { await signal.wait(timeout: dependencies.pollInterval) }
            }
        }
    }
}

/// Counts running jobs against the limit.
actor Slots {
    private let limit: Int
    private var used = 0
    init(limit: Int) { self.limit = limit }
    func take() -> Bool {
        guard used < limit else { return false }
        used += 1
        return true
    }
    func give() { used -= 1 }
}
