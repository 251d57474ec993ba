import CoxswainCluster
import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Watches a release on Prometheus after every successful change (`WatchPolicy`): the
/// verdicts go to the job's thread, a breach also to its channel with the rollback it
/// offers (or starts, where `watch.auto_rollback` is set). Runs only where `prometheus:` is
/// configured, and like the worker only on the server that holds the database lease.
/// Watches are rows, so a restart resumes them; a job that ended while the server was down
/// gets its watch when it is back, if its window has not passed.
struct WatchService: Service {
    let configuration: CoxswainConfiguration
    let rollbackCommand: String?
    let watches: any WatchStore
    let jobs: any JobStore
    let prometheus: PrometheusClient
    /// Signalled when a job ends, so its watch starts at once.
    let signal: WorkSignal
    let notifierSignal: WorkSignal
    let lease: LeaseKeeper
    let intake: ChangeIntake
    let pollInterval: Duration
    let now: @Sendable () -> Date
    let logger: Logger

    private var persistence: Persistence { .patient(logger) }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var wait = Duration.seconds(60)
            if lease.isHeld {
                await startMissingWatches()
                let active = (try? await watches.activeWatches()) ?? []
                for watch in active where watch.nextCheckAt <= now() {
                    guard !Task.isCancelled else { break }
                    await check(watch)
                }
                let fresh = (try? await watches.activeWatches()) ?? active
                if let next = fresh.map(\.nextCheckAt).min() {
                    wait = .milliseconds(max(50, min(60_000, Int(next.timeIntervalSince(now()) * 1000))))
                }
            } else {
                wait = pollInterval
            }
            let timeout = wait
            try? await cancelWhenGracefulShutdown { await signal.wait(timeout: timeout) }
        }
    }

    /// Succeeded jobs without a watch whose window has not passed yet.
    private func startMissingWatches() async {
        let longest = configuration.environments.values.map(\.watch.duration.seconds).max() ?? 0
        let now = self.now()
        guard let ended = try? await watches.unwatchedSucceededJobs(since: now.addingTimeInterval(-longest)) else { return }
        for job in ended { await start(job) }
    }

    private func start(_ job: Job) async {
        guard let release = configuration.release(named: job.request.release) else { return }
        let policy = configuration.watchPolicy(release: release)
        let began = job.finishedAt ?? now()
        let ends = began.addingTimeInterval(policy.duration.seconds)
        guard ends > now() else { return }
        // The hour (baseline_window) before the change began: what "2× the baseline" means.
        let baseline = await baseline(release, policy, before: job.startedAt ?? job.createdAt)
        var watch = ModelWatch(
            jobID: job.id, kind: job.request.kind, release: release.name, environment: release.environment, namespace: release.namespace,
            model: release.model, revisionBefore: job.request.kind == .upgrade ? job.plan?.from.revision : nil, startedAt: began, endsAt: ends,
            baselineP95: baseline)
        await readServingBaselines(&watch, release, policy, before: job.startedAt ?? job.createdAt)
        // The first reading waits one interval: the rate window needs data from after the change.
        watch.nextCheckAt = began.addingTimeInterval(policy.interval.seconds)
        let (audit, notices) = narrator(policy).started(watch)
        let watches = self.watches, now = self.now(), first = watch
        do {
            let started = try await persistence.run("start watching \(release.name)") {
                try await watches.startWatch(first, audit: audit, notices: notices, now: now)
            }
            if started != nil { notifierSignal.signal() }
        } catch {
            logger.error("could not start watching \(release.name) after job #\(job.id): \(error)")
        }
    }

    private func check(_ watch: ModelWatch) async {
        guard let release = configuration.release(named: watch.release) else {
            var ended = watch
            ended.state = .inconclusive
            await save(
                ended, (audit: [AuditDraft(actor: "coxswain", event: "watch.inconclusive", detail: "\(watch.release) is no longer configured")], notices: []))
            return
        }
        let policy = configuration.watchPolicy(release: release)
        var watch = watch
        if watch.needsBaseline == true {
            // `/watch` answered at once; the baseline is the window before it was asked.
            watch.baselineP95 = await baseline(release, policy, before: watch.startedAt)
            await readServingBaselines(&watch, release, policy, before: watch.startedAt)
            watch.needsBaseline = false
        }
        let reading = await read(release, policy)
        let now = self.now()
        var (next, events) = WatchJudge(policy: policy).next(watch, reading: reading, now: now)
        if case .breached(let breach) = events.last, policy.autoRollback, next.kind == .upgrade, let revision = next.revisionBefore {
            next.autoRollbackJobID = await rollBack(next, to: revision, breach: breach, release: release)
        }
        await save(next, narrator(policy).told(next, events))
    }

    private func save(_ watch: ModelWatch, _ told: (audit: [AuditDraft], notices: [Notice])) async {
        let watches = self.watches, now = self.now()
        do {
            try await persistence.run("record the watch of \(watch.release)") {
                try await watches.saveWatch(watch, audit: told.audit, notices: told.notices, now: now)
            }
            if !told.notices.isEmpty { notifierSignal.signal() }
        } catch {
            logger.error("could not record the watch of \(watch.release): \(error)")
        }
    }

    /// P95 over `baseline_window` ending at `time`; nil when Prometheus has none or does not answer.
    private func baseline(_ release: CoxswainConfiguration.Release, _ policy: WatchPolicy, before time: Date) async -> Double? {
        let query = WatchQueries.render(
            policy.queries.p95, model: release.model, release: release.name, namespace: release.namespace, window: policy.baselineWindow)
        return (try? await prometheus.scalar(query, at: time)) ?? nil
    }

    /// The latency criteria's baselines over the same window as the P95's; nil where Prometheus has
    /// none or does not answer (that criterion is then not judged, and the start says so).
    private func readServingBaselines(_ watch: inout ModelWatch, _ release: CoxswainConfiguration.Release, _ policy: WatchPolicy, before time: Date) async {
        for criterion in policy.serving where criterion.signal.againstBaseline {
            let sample = try? await sample(criterion.signal, release, policy, window: policy.baselineWindow, at: time)
            guard case .value(let value, _)? = sample else { continue }
            watch[criterion.signal] = ServingTrack(baseline: value)
        }
    }

    /// The seed's three questions, then one per serving criterion; any failure makes the reading
    /// unavailable, no requests series makes it no data.
    private func read(_ release: CoxswainConfiguration.Release, _ policy: WatchPolicy) async -> WatchReading {
        func render(_ template: String) -> String {
            WatchQueries.render(template, model: release.model, release: release.name, namespace: release.namespace, window: policy.rateWindow)
        }
        do {
            guard let requests = try await prometheus.scalar(render(policy.queries.requests)) else { return .noData }
            // No 5xx series at all is the usual healthy case: zero errors, not "no data".
            let errors = try await prometheus.scalar(render(policy.queries.errors)) ?? 0
            let p95 = try await prometheus.scalar(render(policy.queries.p95))
            var serving: [ServingSignal: ServingSample] = [:]
            for criterion in policy.serving {
                serving[criterion.signal] = try await sample(criterion.signal, release, policy, window: policy.rateWindow)
            }
            return .figures(requests: requests, errors: errors, p95: p95, serving: serving)
        } catch {
            return .unavailable(error.description)
        }
    }

    /// A serving signal's queries asked in turn (vLLM's current metric name, then its older one)
    /// until one has data.
    private func sample(
        _ signal: ServingSignal, _ release: CoxswainConfiguration.Release, _ policy: WatchPolicy, window: GoDuration, at time: Date? = nil
    ) async throws(PrometheusClient.Failure) -> ServingSample {
        let queries = policy.queries.serving[signal] ?? signal.defaultQueries
        for query in queries {
            let rendered = WatchQueries.render(query, model: release.model, release: release.name, namespace: release.namespace, window: window)
            if let value = try await prometheus.scalar(rendered, at: time) { return .value(value, from: ServingSignal.metric(in: query)) }
        }
        return .noData(tried: queries.map(ServingSignal.metric(in:)))
    }

    /// Starts the rollback a breach asks for; the job id, or nil when it could not be stored
    /// (the breach message then offers the button instead).
    private func rollBack(_ watch: ModelWatch, to revision: Int, breach: String, release: CoxswainConfiguration.Release) async -> Int64? {
        guard let jobID = watch.jobID, let job = try? await jobs.job(id: jobID),
            let command = rollbackCommand
        else { return nil }
        let origin = CommandOrigin(
            platform: job.request.platform, user: "coxswain", channel: job.request.channel, requestKey: "watch:\(watch.id)",
            asked: "watch.auto_rollback after job #\(jobID)", replyRoute: nil, groups: [])
        let change = ChangeRequest.rollback(release.name, revision: revision, reason: "watch breach after job #\(jobID): \(breach)", command: command)
        let answer = await intake.acceptAutomatic(change, release: release, origin: origin)
        if answer.jobID == nil { logger.error("watch of \(release.name): the automatic rollback was not stored: \(answer.text.plainText)") }
        return answer.jobID
    }

    private func narrator(_ policy: WatchPolicy) -> WatchNarrator {
        WatchNarrator(policy: policy, rollbackCommand: rollbackCommand ?? "/rollback")
    }
}
