import CoxswainCluster
import CoxswainCore
import Foundation
import Metrics
import Hummingbird
import Prometheus
import Synchronization

/// What `/metrics` tells Prometheus, recorded with swift-metrics into this server's own
/// registry (not the process-wide one: tests run many servers in one process).
///
/// Events are counted where they happen (steps, webhook requests, Slack calls, helm and
/// kubectl runs); states are read from the store when Prometheus scrapes (jobs by state,
/// approvals waiting, unacknowledged break-glass, the outbox), so they survive restarts.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// The replicas the last scrape saw running jobs, so one that stopped reads 0, not its old count.
    private let runnersSeen = Mutex<Set<[String]>>([])

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
            .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(600),
        ]
        self.factory = factory
    }

    /// A runbook step ended (`outcome`: succeeded, failed, skipped).
    func step(action: String, outcome: String, duration: Duration) {
        Metrics.Timer(label: "coxswain_step_duration_seconds", dimensions: [("action", action), ("outcome", outcome)], factory: factory).record(
            duration: duration)
    }

    /// A request on the Slack-facing listener was answered.
    func request(path: String, status: Int, duration: Duration) {
        Metrics.Timer(label: "coxswain_http_request_duration_seconds", dimensions: [("path", path), ("status", String(status))], factory: factory)
            .record(duration: duration)
    }

    /// A Slack Web API call ended: `ok`, `rate_limited`, or the error.
    func slackCall(method: String, outcome: String) {
        Metrics.Counter(label: "coxswain_slack_api_calls_total", dimensions: [("method", method), ("outcome", outcome)], factory: factory).increment()
    }

    /// helm or kubectl ran (exit code `none`: stopped after its timeout).
    func command(_ output: ProcessOutput) {
        let program = URL(fileURLWithPath: output.argv.first ?? "?").lastPathComponent
        let code = output.timedOut ? "none" : output.exitCode.map(String.init) ?? "none"
        Metrics.Counter(label: "coxswain_cluster_commands_total", dimensions: [("program", program), ("exit_code", code)], factory: factory).increment()
    }

    /// This replica, as `/metrics` names it: whether it holds the lease (sends messages, watches,
    /// keeps house) and which replicas run how many jobs now, from the claims in the database.
    struct Replica: Sendable {
        let identity: RunnerIdentity
        let holdsLease: @Sendable () -> Bool
    }

    /// The exposition, after reading the states from the store.
    func exposition(stores: Stores, runbooks: RunbookSet, replica: Replica, now: Date) async -> String {
        let me = replica.identity
        gauge("coxswain_replica_info", [("replica", me.host), ("pid", String(me.pid)), ("id", me.id)]).record(1)
        gauge("coxswain_lease_held", []).record(replica.holdsLease() ? 1 : 0)
        do {
            var running: [[String]: Int] = [[me.host, String(me.pid)]: 0]  // this replica's own count, even when 0
            for job in try await stores.jobs.runningJobs() {
                running[[job.claim?.runner.host ?? "unclaimed", job.claim.map { String($0.runner.pid) } ?? ""], default: 0] += 1
            }
            let vanished = runnersSeen.withLock { seen in
                defer { seen = Set(running.keys) }
                return seen.subtracting(running.keys)
            }
            for key in vanished { running[key] = 0 }
            for (key, count) in running { gauge("coxswain_jobs_running", [("replica", key[0]), ("pid", key[1])]).record(count) }
            for count in try await stores.jobs.jobCounts() {
                gauge("coxswain_jobs", [("command", count.command), ("environment", count.environment), ("state", count.state)]).record(count.count)
            }
            let open = try await stores.jobs.openJobs()
            gauge("coxswain_approvals_waiting", []).record(open.filter { $0.state == .awaitingApproval }.count)
            let overdue = open.filter { job in
                guard job.state == .running, let started = job.startedAt else { return false }
                return now.timeIntervalSince(started) > Self.timeLimit(of: job, runbooks: runbooks)
            }
            gauge("coxswain_jobs_overdue", []).record(overdue.count)
            gauge("coxswain_break_glass_unacknowledged", []).record(try await stores.jobs.unacknowledgedEmergencies().count)
            // Every platform's copies: a platform that is not configured has none.
            var count = 0, oldest: Date?
            for platform in ["slack", "mattermost"] {
                let pending = try await stores.outbox.pending(platform: platform)
                count += pending.count
                oldest = [oldest, pending.oldest].compactMap { $0 }.min()
            }
            gauge("coxswain_outbox_pending", []).record(count)
            gauge("coxswain_outbox_oldest_pending_seconds", []).record(oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0)
            gauge("coxswain_store_up", []).record(1)
        } catch {
            gauge("coxswain_store_up", []).record(0)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Gauge {
        Metrics.Gauge(label: label, dimensions: dimensions, factory: factory)
    }

    /// The longest a job may run: its runbook's step timeouts, plus ten minutes for the rest.
    static func timeLimit(of job: Job, runbooks: RunbookSet) -> TimeInterval {
        let steps = runbooks.runbook(for: job.request)?.steps ?? []
        return steps.compactMap { $0.timeout?.seconds }.reduce(0, +) + 600
    }
}

/// Times every request on the Slack-facing listener, by path and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        // Only known paths become labels: anything else is one "other", so no client can grow the series.
        let path = ["/slack/commands", "/slack/interactions", "/healthz", "/readyz"].contains(request.uri.path) ? request.uri.path : "other"
        do {
            let response = try await next(request, context)
            metrics.request(path: path, status: Int(response.status.code), duration: ContinuousClock.now - started)
            return response
        } catch let error as HTTPResponseError {
            metrics.request(path: path, status: Int(error.status.code), duration: ContinuousClock.now - started)
            throw error
        }
    }
}
