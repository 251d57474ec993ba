import CoxswainCore
import Foundation
import Synchronization

/// The worker's timed duties: approval and confirmation requests expire after their
/// environment's TTL, and unacknowledged break-glass jobs are brought up in the audit
/// channel again. It reads first and writes only what is due.
struct Housekeeping: Sendable {
    let dependencies: ServerDependencies

    /// Returns whether it wrote notices to send. Reads only what can be due: per
    /// environment, the jobs waiting longer than its TTL; the unacknowledged break-glass jobs.
    func run() async -> Bool {
        let lifecycle = dependencies.lifecycle, now = dependencies.now, jobs = dependencies.stores.jobs
        let interval = dependencies.configuration.emergency.reminderInterval
        let transitions = dependencies.transitions(.patient(dependencies.logger))
        var wrote = false
        do {
            for environment in dependencies.configuration.environments.keys.sorted() {
                let cutoff = now().addingTimeInterval(-ttl(environment))
                for job in try await jobs.waitingJobs(environment: environment, since: cutoff) where lifecycle.expireIfDue(job, now: now()) != nil {
                    try await transitions.apply(job, "expire job #\(job.id)") { lifecycle.expireIfDue($0, now: now()) }
                    wrote = true
                }
            }
            guard dependencies.configuration.slack.auditChannel != nil else { return wrote }
            for job in try await jobs.unacknowledgedEmergencies() where lifecycle.remindIfDue(job, interval: interval, now: now()) != nil {
                try await transitions.apply(job, "remind of job #\(job.id)") { lifecycle.remindIfDue($0, interval: interval, now: now()) }
                wrote = true
            }
        } catch {
            dependencies.logger.error("housekeeping failed: \(error)")
        }
        return wrote
    }

    /// How long until a wait expires; the worker sleeps no longer than that.
    func untilNextDue() async -> Duration {
        let now = dependencies.now()
        var next = Date.distantFuture
        for environment in dependencies.configuration.environments.keys {
            if let since = try? await dependencies.stores.jobs.oldestWait(environment: environment) {
                next = min(next, since.addingTimeInterval(ttl(environment)))
            }
        }
        let seconds = max(0.05, min(3600, next.timeIntervalSince(now)))
        return .milliseconds(Int(seconds * 1000))
    }

    private func ttl(_ environment: String) -> Double {
        dependencies.configuration.environments[environment]?.approvalTTL.seconds ?? 1800
    }
}

/// Right after a rollback is accepted, the release's current revision is read and kept
/// with the job: what the requester saw. A job that waits in line then notices when the
/// release moved before its turn.
final class BasisReader: Sendable {
    let dependencies: ServerDependencies
    /// Jobs already tried: a cluster that does not answer is not asked again every poll (the
    /// job's own history step then decides).
    private let tried = Mutex<Set<Int64>>([])

    init(dependencies: ServerDependencies) { self.dependencies = dependencies }

    /// Returns whether it recorded anything.
    func readMissing() async -> Bool {
        // Only jobs that wait behind another: a job that starts now reads its own history first.
        let waiting = (try? await dependencies.stores.jobs.queuedWithoutBasis()) ?? []
        let queued = tried.withLock { tried in
            tried.formIntersection(waiting.map(\.id))  // only jobs still waiting are remembered
            return waiting.filter { tried.insert($0.id).inserted }
        }
        guard !queued.isEmpty else { return false }
        let lifecycle = dependencies.lifecycle
        let transitions = dependencies.transitions(.patient(dependencies.logger))
        var recorded = false
        for job in queued {
            guard let release = dependencies.configuration.release(named: job.request.release), let revision = await currentRevision(release) else { continue }
            do {
                try await transitions.apply(job, "record job #\(job.id)'s basis") { lifecycle.basisRead($0, revision: revision) }
                recorded = true
            } catch {
                dependencies.logger.error("could not record job \(job.id)'s basis: \(error)")
            }
        }
        return recorded
    }

    private func currentRevision(_ release: CoxswainConfiguration.Release) async -> Int? {
        do {
            if release.kind == .deployment {
                let (revisions, _) = try await dependencies.kubectl.rolloutHistory(
                    deployment: release.deploymentName ?? release.name, namespace: release.namespace)
                return revisions.last?.revision
            }
            let (revisions, _) = try await dependencies.helm.history(release: release.name, namespace: release.namespace, max: 1)
            return revisions.map(\.revision).max()
        } catch {
            dependencies.logger.warning("could not read \(release.name)'s current revision: \(error.message)")
            return nil
        }
    }
}
