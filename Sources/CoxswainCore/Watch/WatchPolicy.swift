import Foundation

/// How a release is watched after a change: the seed's rollback criteria ("error rates above
/// 5 % for more than 5 minutes, P95 latency above 2× the baseline for more than 10 minutes,
/// a complete outage; not when fewer than 1 % of requests are affected"), as configuration.
public struct WatchPolicy: Sendable, Equatable {
    /// How long after the change.
    public var duration: GoDuration
    /// How often Prometheus is asked.
    public var interval: GoDuration
    /// The range of `increase()`/`rate()` in each question.
    public var rateWindow: GoDuration
    /// The P95 before the change is read over this range, ending when the job started.
    public var baselineWindow: GoDuration
    /// A fraction: 0.05 is 5 %.
    public var errorRate: Double
    public var errorFor: GoDuration
    public var latencyFactor: Double
    public var latencyFor: GoDuration
    /// Fewer requests than this in `rateWindow` cannot be judged: inconclusive, never a breach.
    public var minRequests: Double
    /// A breach after an `/upgrade` starts the rollback by itself (audited, requested by Coxswain).
    public var autoRollback: Bool
    /// Time to first token, inter-token latency, the queue and the KV cache: those configured, in that order.
    public var serving: [ServingCriterion]
    public var queries: WatchQueries

    /// Error rates under 1 % never breach, whatever `errorRate` says (the seed's floor).
    public static let errorFloor = 0.01
    /// All requests failing is an outage: a breach at once, no waiting for `errorFor`.
    public static let outageRate = 0.999

    public init(
        duration: GoDuration = GoDuration(seconds: 900), interval: GoDuration = GoDuration(seconds: 30),
        rateWindow: GoDuration = GoDuration(seconds: 60), baselineWindow: GoDuration = GoDuration(seconds: 3600),
        errorRate: Double = 0.05, errorFor: GoDuration = GoDuration(seconds: 300), latencyFactor: Double = 2,
        latencyFor: GoDuration = GoDuration(seconds: 600), minRequests: Double = 20, autoRollback: Bool = false,
        serving: [ServingCriterion] = [], queries: WatchQueries = WatchQueries()
    ) {
        self.duration = duration; self.interval = interval; self.rateWindow = rateWindow; self.baselineWindow = baselineWindow
        self.errorRate = errorRate; self.errorFor = errorFor; self.latencyFactor = latencyFactor; self.latencyFor = latencyFor
        self.minRequests = minRequests; self.autoRollback = autoRollback; self.serving = serving; self.queries = queries
    }
}

/// The PromQL asked of Prometheus, with `{model}`, `{release}`, `{namespace}` and
/// `{window}` filled in. The defaults assume vLLM's metrics scraped with `namespace` and
/// `service` labels (what a ServiceMonitor adds); deployments that relabel differently set
/// their own per release.
public struct WatchQueries: Sendable, Equatable {
    /// Requests in the window (a count).
    public var requests: String
    /// Failed requests in the window (a count).
    public var errors: String
    /// The 95th percentile of end-to-end latency, in seconds.
    public var p95: String
    /// For each serving signal, the queries tried in turn until one has data: vLLM's current
    /// metric name, then its older one. A configured query replaces them.
    public var serving: [ServingSignal: [String]]

    public static let defaultRequests = #"sum(increase(http_requests_total{namespace="{namespace}",service="{release}"}[{window}]))"#
    public static let defaultErrors = #"sum(increase(http_requests_total{namespace="{namespace}",service="{release}",status=~"5.."}[{window}]))"#
    public static let defaultP95 =
        #"histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{namespace="{namespace}",model_name="{model}"}[{window}])))"#

    public init(requests: String? = nil, errors: String? = nil, p95: String? = nil, serving: [ServingSignal: String] = [:]) {
        self.requests = requests ?? Self.defaultRequests
        self.errors = errors ?? Self.defaultErrors
        self.p95 = p95 ?? Self.defaultP95
        self.serving = Dictionary(uniqueKeysWithValues: ServingSignal.allCases.map { ($0, serving[$0].map { [$0] } ?? $0.defaultQueries) })
    }

    public static let placeholders = ["{model}", "{release}", "{namespace}", "{window}"]

    /// A query with the release's names and the window filled in.
    public static func render(_ template: String, model: String, release: String, namespace: String, window: GoDuration) -> String {
        template.replacingOccurrences(of: "{model}", with: model).replacingOccurrences(of: "{release}", with: release)
            .replacingOccurrences(of: "{namespace}", with: namespace).replacingOccurrences(of: "{window}", with: Self.promDuration(window))
    }

    /// Prometheus durations take whole units: `90s`, `500ms`.
    public static func promDuration(_ duration: GoDuration) -> String {
        duration.milliseconds % 1000 == 0 ? "\(duration.milliseconds / 1000)s" : "\(duration.milliseconds)ms"
    }
}
