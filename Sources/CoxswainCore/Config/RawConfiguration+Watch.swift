import Foundation

/// `prometheus:` and the watch after a change: `watch:` at the top, overridden key by key
/// under an environment, and a release's own `watch_queries:`.
extension RawConfiguration {
    struct Prometheus: Decodable { var url: String; var token_file: String?; var timeout: String? }
    struct WatchQueries: Decodable { var requests: String?; var errors: String?; var p95: String? }
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
        var queries: WatchQueries?
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
        for (name, span) in [("interval", policy.interval), ("error_for", policy.errorFor), ("latency_for", policy.latencyFor)]
        where span >= policy.duration {
            throw fail("\(key).\(name)", "must be shorter than duration (\(policy.duration)), or it could never be judged, got \(span)")
        }
        return policy
    }

    /// Each query given replaces the default; only the known placeholders may appear.
    private static func queries(
        _ raw: WatchQueries, over base: CoxswainCore.WatchQueries, key: String, fail: (String, String) -> ConfigurationError
    ) throws -> CoxswainCore.WatchQueries {
        for (name, text) in [("requests", raw.requests), ("errors", raw.errors), ("p95", raw.p95)] {
            guard let text else { continue }
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("\(key).\(name)", "must be a PromQL query, got nothing") }
            for match in text.matches(of: /\{[a-z_]+\}/) where !CoxswainCore.WatchQueries.placeholders.contains(String(match.output)) {
                throw fail(
                    "\(key).\(name)",
                    "\(match.output) is not a placeholder; known: \(CoxswainCore.WatchQueries.placeholders.joined(separator: ", "))")
            }
        }
        return CoxswainCore.WatchQueries(requests: raw.requests ?? base.requests, errors: raw.errors ?? base.errors, p95: raw.p95 ?? base.p95)
    }
}
