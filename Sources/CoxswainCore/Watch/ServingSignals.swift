import Foundation

/// How an LLM server degrades before its error rate moves: slower first tokens, slower
/// tokens after that, a queue that grows, a KV cache that fills. Each is a criterion of the
/// watch beside the seed's error rate and P95, off unless configured (the seed names none).
public enum ServingSignal: String, Sendable, Codable, CaseIterable, Hashable {
    case timeToFirstToken = "time_to_first_token"
    case interTokenLatency = "inter_token_latency"
    case requestsWaiting = "requests_waiting"
    case kvCacheUsage = "kv_cache_usage"

    public var title: String {
        switch self {
        case .timeToFirstToken: "time to first token P95"
        case .interTokenLatency: "inter-token latency P95"
        case .requestsWaiting: "requests waiting"
        case .kvCacheUsage: "KV-cache usage"
        }
    }

    /// Latencies are judged against the same figure before the change (a factor of it); the
    /// queue and the cache against a fixed limit.
    public var againstBaseline: Bool { self == .timeToFirstToken || self == .interTokenLatency }

    /// How long a limit must be exceeded when the configuration does not say: the seed's
    /// latency span for latencies, its error span for the queue and the cache.
    public var defaultHold: GoDuration { againstBaseline ? GoDuration(seconds: 600) : GoDuration(seconds: 300) }

    /// vLLM's metrics, the current name first, then the one older versions expose
    /// (`vllm:time_per_output_token_seconds` and `vllm:gpu_cache_usage_perc` were renamed).
    public var defaultMetrics: [String] {
        switch self {
        case .timeToFirstToken: ["vllm:time_to_first_token_seconds"]
        case .interTokenLatency: ["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"]
        case .requestsWaiting: ["vllm:num_requests_waiting"]
        case .kvCacheUsage: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]
        }
    }

    /// The PromQL for each name in `defaultMetrics`, with the watch's placeholders. Latencies are
    /// a P95 over the window; the queue is the average over the window summed over pods; the
    /// cache is the fullest pod's average.
    public var defaultQueries: [String] {
        let labels = #"{namespace="{namespace}",model_name="{model}"}"#
        return defaultMetrics.map { metric in
            switch self {
            case .timeToFirstToken, .interTokenLatency: "histogram_quantile(0.95, sum by (le) (rate(\(metric)_bucket\(labels)[{window}])))"
            case .requestsWaiting: "sum(avg_over_time(\(metric)\(labels)[{window}]))"
            case .kvCacheUsage: "max(avg_over_time(\(metric)\(labels)[{window}]))"
            }
        }
    }

    /// A value as people read it: seconds, a count, a percentage.
    public func describe(_ value: Double) -> String {
        switch self {
        case .timeToFirstToken, .interTokenLatency: WatchJudge.seconds(value)
        case .requestsWaiting: WatchJudge.number(value)
        case .kvCacheUsage: WatchJudge.percent(value)
        }
    }

    /// The limit as the configuration and the messages say it: "2× the baseline", "20", "95.0%".
    public func describeLimit(_ limit: Double) -> String {
        againstBaseline ? "\(WatchJudge.number(limit))× the baseline" : describe(limit)
    }

    /// The metric a query reads, for saying which one answered: the first `vllm:` name in it
    /// without a histogram's suffix, or "the configured query" for one that names none.
    public static func metric(in query: String) -> String {
        guard let match = query.firstMatch(of: /vllm:[A-Za-z0-9_:]+/) else { return "the configured query" }
        var name = String(match.output)
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    /// The name a newer vLLM gives the same figure, when `metric` is one of its older names.
    public func newerName(than metric: String) -> String? {
        guard let index = defaultMetrics.firstIndex(of: metric), index > 0 else { return nil }
        return defaultMetrics[0]
    }
}

/// One serving criterion as configured for an environment.
public struct ServingCriterion: Sendable, Equatable {
    public var signal: ServingSignal
    /// A factor of the baseline for latencies (2: twice); requests for the queue; a fraction for the cache (0.95).
    public var limit: Double
    public var holdFor: GoDuration

    public init(_ signal: ServingSignal, limit: Double, holdFor: GoDuration? = nil) {
        self.signal = signal
        self.limit = limit
        self.holdFor = holdFor ?? signal.defaultHold
    }
}

/// A reading of one serving signal: its value and the metric it came from, or the names
/// tried when none had data.
public enum ServingSample: Sendable, Equatable {
    case value(Double, from: String)
    case noData(tried: [String])
}

/// Where a serving criterion stands in one watch. Kept with the watch's record.
public struct ServingTrack: Sendable, Equatable, Codable {
    /// For latencies: the P95 before the change; nil when Prometheus had none (then not judged).
    public var baseline: Double?
    /// The metric the last value came from.
    public var source: String?
    /// Since when the limit has been exceeded, while it is.
    public var since: Date?
    public var last: Double?
    public var worst: Double?
    /// That no metric had data was said; cleared when one has again.
    public var missing: Bool?

    public init(baseline: Double? = nil) { self.baseline = baseline }
}

/// What a reading found out about where the serving figures come from, said once per change.
public struct ServingSourceNote: Sendable, Equatable {
    public var signal: ServingSignal
    /// The metric that answered; nil when none did.
    public var metric: String?
    public var tried: [String]

    public init(signal: ServingSignal, metric: String?, tried: [String]) {
        self.signal = signal
        self.metric = metric
        self.tried = tried
    }
}
