import CoxswainCluster
import CoxswainCore
import Foundation
import Logging
import Synchronization

/// The worker's timed duties: approval and confirmation requests expire after their
/// environment's TTL, and unacknowledged break-glass jobs are brought up in the audit
/// channel again. It reads first and writes only what is due.
struct Housekeeping: Sendable {
    let configuration: CoxswainConfiguration
    let lifecycle: JobLifecycle
    let jobs: any JobStore
    let now: @Sendable () -> Date
    let logger: Logger

    /// Returns whether it wrote notices to send, and how long until the next wait expires
    /// (the worker sleeps no longer than that). Reads only what can be due: one read for every
    /// environment's oldest wait, the waiting jobs only where that has expired; the
    /// unacknowledged break-glass jobs.
    func run() async -> (wrote: Bool, nextDue: Duration?) {
        let lifecycle = self.lifecycle, now = self.now, jobs = self.jobs
        let interval = configuration.emergency.reminderInterval
        let transitions = JobTransitions(jobs: jobs, persistence: .patient(logger), now: now)
        var wrote = false
        var next = Date.distantFuture
        do {
            for (environment, since) in try await jobs.oldestWaits(environments: configuration.environments.keys.sorted()).sorted(by: { $0.key < $1.key }) {
                let expires = since.addingTimeInterval(ttl(environment))
                guard expires <= now() else {
                    next = min(next, expires)
                    continue
                }
                for job in try await jobs.waitingJobs(environment: environment, since: now().addingTimeInterval(-ttl(environment)))
                where lifecycle.expireIfDue(job, now: now()) != nil {
                    try await transitions.apply(job, "expire job #\(job.id)") { lifecycle.expireIfDue($0, now: now()) }
                    wrote = true
                    // The environment's next expiry is read on the next pass, soon.
                    next = now()
                }
            }
            guard configuration.slack.auditChannel != nil else { return (wrote, Self.until(next, from: now())) }
            for job in try await jobs.unacknowledgedEmergencies() where lifecycle.remindIfDue(job, interval: interval, now: now()) != nil {
                try await transitions.apply(job, "remind of job #\(job.id)") { lifecycle.remindIfDue($0, interval: interval, now: now()) }
                wrote = true
            }
        } catch {
            logger.error("housekeeping failed: \(error)")
            return (wrote, nil)
        }
        return (wrote, Self.until(next, from: now()))
    }

    private static func until(_ next: Date, from now: Date) -> Duration {
        .milliseconds(Int(max(0.05, min(3600, next.timeIntervalSince(now))) * 1000))
    }

    private func ttl(_ environment: String) -> Double {
        configuration.environments[environment]?.approvalTTL.seconds ?? 1800
    }
}

/// Right after a rollback is accepted, the release's current revision is read and kept
/// with the job: what the requester saw. A job that waits in line then notices when the
/// release moved before its turn.
final class BasisReader: Sendable {
    let configuration: CoxswainConfiguration
    let cluster: ClusterTools
    let lifecycle: JobLifecycle
    let jobs: any JobStore
    let now: @Sendable () -> Date
    let logger: Logger
    /// Jobs already tried: a cluster that does not answer is not asked again every poll (the
    /// job's own history step then decides).
    private let tried = Mutex<Set<Int64>>([])

    init(
        configuration: CoxswainConfiguration, cluster: ClusterTools, lifecycle: JobLifecycle, jobs: any JobStore, now: @escaping @Sendable () -> Date,
        logger: Logger
    ) {
        self.configuration = configuration; self.cluster = cluster; self.lifecycle = lifecycle; self.jobs = jobs; self.now = now; self.logger = logger
    }

    /// Returns whether it recorded anything.
    func readMissing() async -> Bool {
        // Only jobs that wait behind another: a job that starts now reads its own history first.
        let waiting = (try? await jobs.queuedWithoutBasis()) ?? []
        let queued = tried.withLock { tried in
            tried.formIntersection(waiting.map(\.id))  // only jobs still waiting are remembered
            return waiting.filter { tried.insert($0.id).inserted }
        }
        guard !queued.isEmpty else { return false }
        let lifecycle = self.lifecycle
        let transitions = JobTransitions(jobs: jobs, persistence: .patient(logger), now: now)
        var recorded = false
        for job in queued {
            guard let release = configuration.release(named: job.request.release), let revision = await currentRevision(release) else { continue }
            do {
                try await transitions.apply(job, "record job #\(job.id)'s basis") { lifecycle.basisRead($0, revision: revision) }
                recorded = true
            } catch {
                logger.error("could not record job \(job.id)'s basis: \(error)")
            }
        }
        return recorded
    }

    private func currentRevision(_ release: CoxswainConfiguration.Release) async -> Int? {
        do {
            if release.kind == .deployment {
                let (revisions, _) = try await cluster.kubectl.rolloutHistory(
                    deployment: release.deploymentName ?? release.name, namespace: release.namespace)
                return revisions.last?.revision
            }
            let (revisions, _) = try await cluster.helm.history(release: release.name, namespace: release.namespace, max: 1)
            return revisions.map(\.revision).max()
        } catch {
            logger.warning("could not read \(release.name)'s current revision: \(error.message)")
            return nil
        }
    }
}
