import Foundation

/// `prometheus:` and the watch after a change: `watch:` at the top, overridden key by key
/// under an environment, and a release's own `watch_queries:`.
extension RawConfiguration {
    struct Prometheus: Decodable { var url: String; var token_file: String?; var timeout: String? }
    struct WatchQueries: Decodable {
        var requests: String?
        var errors: String?
        var p95: String?
        var time_to_first_token: String?
        var inter_token_latency: String?
        var requests_waiting: String?
        var kv_cache_usage: String?

        var serving: [ServingSignal: String] {
            let pairs: [(ServingSignal, String?)] = [
                (.timeToFirstToken, time_to_first_token), (.interTokenLatency, inter_token_latency),
                (.requestsWaiting, requests_waiting), (.kvCacheUsage, kv_cache_usage),
            ]
            return Dictionary(uniqueKeysWithValues: pairs.compactMap { signal, query in query.map { (signal, $0) } })
        }
    }
    struct Watch: Decodable {
        var duration: String?
        var interval: String?
        var rate_window: String?
        var baseline_window: String?
        var error_rate: String?
        var error_for: String?
        var latency_factor: Double?
        var latency_for: String?
        var min_requests: Double?
        var auto_rollback: Bool?
        var time_to_first_token_factor: String?
        var time_to_first_token_for: String?
        var inter_token_latency_factor: String?
        var inter_token_latency_for: String?
        var requests_waiting_over: String?
        var requests_waiting_for: String?
        var kv_cache_usage_over: String?
        var kv_cache_usage_for: String?
        var queries: WatchQueries?

        /// Each serving signal's limit and span as written (`off`, a factor, a count, a percentage).
        var serving: [(ServingSignal, limit: String?, span: String?)] {
            [
                (.timeToFirstToken, time_to_first_token_factor, time_to_first_token_for),
                (.interTokenLatency, inter_token_latency_factor, inter_token_latency_for),
                (.requestsWaiting, requests_waiting_over, requests_waiting_for), (.kvCacheUsage, kv_cache_usage_over, kv_cache_usage_for),
            ]
        }
    }

    func validatedWatch(
        envs: inout [String: CoxswainConfiguration.Environment], rels: inout [String: CoxswainConfiguration.Release],
        resolve: (String) -> String, fail: (String, String) -> ConfigurationError, duration: (String?, String, String) throws -> GoDuration
    ) throws -> CoxswainConfiguration.Prometheus? {
        let base = try policy(watch, over: WatchPolicy(), key: "watch", fail: fail, duration: duration)
        for (name, env) in environments {
            envs[name]?.watch = try policy(env.watch, over: base, key: "environments.\(name).watch", fail: fail, duration: duration)
        }
        for (name, release) in releases {
            if let queries = release.watch_queries {
                rels[name]?.watchQueries = try Self.queries(queries, over: CoxswainCore.WatchQueries(), key: "releases.\(name).watch_queries", fail: fail)
            }
        }
        guard let prometheus else { return nil }
        guard let url = URL(string: prometheus.url), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw fail("prometheus.url", "must be Prometheus's http(s) base URL such as http://prometheus.monitoring:9090, got \"\(prometheus.url)\"")
        }
        return CoxswainConfiguration.Prometheus(
            url: url, tokenFile: prometheus.token_file.map(resolve), timeout: try duration(prometheus.timeout, "5s", "prometheus.timeout"))
    }

    private func policy(
        _ raw: Watch?, over base: WatchPolicy, key: String, fail: (String, String) -> ConfigurationError,
        duration: (String?, String, String) throws -> GoDuration
    ) throws -> WatchPolicy {
        guard let raw else { return base }
        func span(_ text: String?, _ current: GoDuration, _ name: String) throws -> GoDuration {
            guard let text else { return current }
            return try duration(text, current.description, "\(key).\(name)")
        }
        var policy = base
        policy.duration = try span(raw.duration, base.duration, "duration")
        policy.interval = try span(raw.interval, base.interval, "interval")
        policy.rateWindow = try span(raw.rate_window, base.rateWindow, "rate_window")
        policy.baselineWindow = try span(raw.baseline_window, base.baselineWindow, "baseline_window")
        policy.errorFor = try span(raw.error_for, base.errorFor, "error_for")
        policy.latencyFor = try span(raw.latency_for, base.latencyFor, "latency_for")
        if let text = raw.error_rate {
            guard text.hasSuffix("%"), let percent = Double(text.dropLast().trimmingCharacters(in: .whitespaces)), percent > 0, percent < 100 else {
                throw fail("\(key).error_rate", "must be a percentage between 0% and 100% such as 5%, got \"\(text)\"")
            }
            policy.errorRate = percent / 100
        }
        if let factor = raw.latency_factor {
            guard factor > 1 else { throw fail("\(key).latency_factor", "must be more than 1 (2 means twice the baseline P95), got \(factor)") }
            policy.latencyFactor = factor
        }
        if let minimum = raw.min_requests {
            guard minimum >= 1 else { throw fail("\(key).min_requests", "must be at least 1 (requests in rate_window), got \(minimum)") }
            policy.minRequests = minimum
        }
        if let automatic = raw.auto_rollback { policy.autoRollback = automatic }
        if let queries = raw.queries { policy.queries = try Self.queries(queries, over: base.queries, key: "\(key).queries", fail: fail) }
        policy.serving = try servingCriteria(raw, over: base.serving, key: key, fail: fail, span: span)
        var spans = [("interval", policy.interval), ("error_for", policy.errorFor), ("latency_for", policy.latencyFor)]
        spans += policy.serving.map { ("\($0.signal.rawValue)_for", $0.holdFor) }
        for (name, span) in spans where span >= policy.duration {
            throw fail("\(key).\(name)", "must be shorter than duration (\(policy.duration)), or it could never be judged, got \(span)")
        }
        return policy
    }

    /// The serving criteria over the level above: a limit turns one on (or sets it again), `off`
    /// turns it off, a span alone changes one that is on.
    private func servingCriteria(
        _ raw: Watch, over base: [ServingCriterion], key: String, fail: (String, String) -> ConfigurationError,
        span: (String?, GoDuration, String) throws -> GoDuration
    ) throws -> [ServingCriterion] {
        var criteria: [ServingCriterion] = []
        for (signal, limitText, spanText) in raw.serving {
            let inherited = base.first { $0.signal == signal }
            let limitKey = "\(key).\(signal.rawValue)_\(signal.againstBaseline ? "factor" : "over")"
            var criterion = inherited
            if let text = limitText?.trimmingCharacters(in: .whitespaces) {
                if ["off", "false", "no"].contains(text.lowercased()) {
                    criterion = nil
                } else {
                    criterion = ServingCriterion(signal, limit: try Self.servingLimit(text, signal, key: limitKey, fail: fail), holdFor: inherited?.holdFor)
                }
            }
            let spanKey = "\(signal.rawValue)_for"
            if let spanText {
                guard let current = criterion?.holdFor else {
                    throw fail("\(key).\(spanKey)", "sets how long a limit that is off must hold; set \(limitKey) too (it is off unless set)")
                }
                criterion?.holdFor = try span(spanText, current, spanKey)
            }
            if let criterion { criteria.append(criterion) }
        }
        return criteria
    }

    private static func servingLimit(_ text: String, _ signal: ServingSignal, key: String, fail: (String, String) -> ConfigurationError) throws -> Double {
        switch signal {
        case .timeToFirstToken, .interTokenLatency:
            guard let factor = Double(text), factor > 1 else {
                throw fail(key, "must be more than 1 (2 means twice the P95 before the change) or off, got \"\(text)\"")
            }
            return factor
        case .requestsWaiting:
            guard let count = Double(text), count > 0 else {
                throw fail(key, "must be a number of waiting requests such as 20 (summed over the release's pods) or off, got \"\(text)\"")
            }
            return count
        case .kvCacheUsage:
            guard text.hasSuffix("%"), let percent = Double(text.dropLast().trimmingCharacters(in: .whitespaces)), percent > 0, percent < 100 else {
                throw fail(key, "must be a percentage between 0% and 100% such as 95% (of the fullest pod's KV cache) or off, got \"\(text)\"")
            }
            return percent / 100
        }
    }

    /// Each query given replaces the default; only the known placeholders may appear.
    private static func queries(
        _ raw: WatchQueries, over base: CoxswainCore.WatchQueries, key: String, fail: (String, String) -> ConfigurationError
    ) throws -> CoxswainCore.WatchQueries {
        let serving = raw.serving.map { ($0.key.rawValue, Optional($0.value)) }
        for (name, text) in [("requests", raw.requests), ("errors", raw.errors), ("p95", raw.p95)] + serving {
            guard let text else { continue }
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("\(key).\(name)", "must be a PromQL query, got nothing") }
            for match in text.matches(of: /\{[a-z_]+\}/) where !CoxswainCore.WatchQueries.placeholders.contains(String(match.output)) {
                throw fail(
                    "\(key).\(name)",
                    "\(match.output) is not a placeholder; known: \(CoxswainCore.WatchQueries.placeholders.joined(separator: ", "))")
            }
        }
        var queries = CoxswainCore.WatchQueries(requests: raw.requests ?? base.requests, errors: raw.errors ?? base.errors, p95: raw.p95 ?? base.p95)
        queries.serving = base.serving.merging(raw.serving.mapValues { [$0] }) { $1 }
        return queries
    }
}
