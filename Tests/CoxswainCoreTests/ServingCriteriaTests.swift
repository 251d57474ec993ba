import CoxswainCore
import Foundation
import Testing

/// The LLM serving criteria (time to first token, inter-token latency, the queue, the KV
/// cache) as the judge applies them, and what the watch says of them.
@Suite struct ServingCriteriaTests {
    static let criteria = [
        ServingCriterion(.timeToFirstToken, limit: 2, holdFor: GoDuration(seconds: 120)),
        ServingCriterion(.kvCacheUsage, limit: 0.95, holdFor: GoDuration(seconds: 60)),
    ]
    static var policy: WatchPolicy {
        var policy = WatchJudgeTests.policy
        policy.serving = criteria
        return policy
    }

    static func watch(ttftBaseline: Double? = 0.2) -> ModelWatch {
        var watch = WatchJudgeTests.watch()
        watch[.timeToFirstToken] = ServingTrack(baseline: ttftBaseline)
        return watch
    }

    static func reading(ttft: Double?, cache: Double?, cacheFrom: String = "vllm:gpu_cache_usage_perc") -> WatchReading {
        let names = ServingSignal.kvCacheUsage.defaultMetrics
        return .figures(
            requests: 1000, errors: 0, p95: 0.5,
            serving: [
                .timeToFirstToken: ttft.map { .value($0, from: "vllm:time_to_first_token_seconds") } ?? .noData(tried: ["vllm:time_to_first_token_seconds"]),
                .kvCacheUsage: cache.map { .value($0, from: cacheFrom) } ?? .noData(tried: names),
            ])
    }

    static func feed(_ readings: [WatchReading], from watch: ModelWatch = watch()) -> (ModelWatch, [WatchEvent]) {
        WatchJudgeTests.feed(readings, from: watch, policy: policy)
    }

    @Test("time to first token over twice its baseline must hold for its span; a good reading starts the clock again")
    func timeToFirstToken() {
        let slow = Self.reading(ttft: 0.5, cache: 0.5)
        let (early, _) = Self.feed(Array(repeating: slow, count: 4))  // 30 s .. 120 s: held 90 s
        #expect(early.state == .watching && early[.timeToFirstToken]?.since != nil)
        let (reset, _) = Self.feed([slow, slow, slow, Self.reading(ttft: 0.3, cache: 0.5), slow, slow, slow])
        #expect(reset.state == .watching)
        let (breached, events) = Self.feed(Array(repeating: slow, count: 5))
        #expect(breached.state == .breached)
        guard case .breached(let text) = events.last else { Issue.record("no breach in \(events)"); return }
        #expect(text.hasPrefix("time to first token P95 500 ms, over 2× the baseline 200 ms since "), "\(text)")
        #expect(text.hasSuffix("(2m0s)"), "\(text)")
        #expect(breached[.timeToFirstToken]?.worst == 0.5 && breached[.kvCacheUsage]?.last == 0.5)
    }

    @Test("the KV cache against a fixed limit, read under vLLM's older name, and the queue not judged without data")
    func kvCacheUnderTheOlderName() {
        let (watch, events) = Self.feed([Self.reading(ttft: 0.2, cache: 0.97), Self.reading(ttft: 0.2, cache: 0.98), Self.reading(ttft: 0.2, cache: 0.99)])
        #expect(watch.state == .breached)
        #expect(
            events.first
                == .servingSources([
                    ServingSourceNote(signal: .timeToFirstToken, metric: "vllm:time_to_first_token_seconds", tried: []),
                    ServingSourceNote(signal: .kvCacheUsage, metric: "vllm:gpu_cache_usage_perc", tried: []),
                ]))
        guard case .breached(let text) = events.last else { Issue.record("no breach in \(events)"); return }
        #expect(text.hasPrefix("KV-cache usage 99.0%, over 95.0% since "), "\(text)")
        #expect(watch[.kvCacheUsage]?.worst == 0.99)
    }

    @Test("a signal without data is said once and never breaches; said again when it comes back, or under another name")
    func missingThenFound() {
        let readings = [
            Self.reading(ttft: 0.2, cache: nil), Self.reading(ttft: 0.2, cache: nil),
            Self.reading(ttft: 0.2, cache: 0.5, cacheFrom: "vllm:kv_cache_usage_perc"),
            Self.reading(ttft: 0.2, cache: 0.5, cacheFrom: "vllm:kv_cache_usage_perc"),
        ] + Array(repeating: Self.reading(ttft: 0.2, cache: 0.5), count: 26)
        let (watch, events) = Self.feed(readings)
        #expect(watch.state == .healthy, "\(events)")
        let notes = events.compactMap { if case .servingSources(let notes) = $0 { notes } else { nil } }
        #expect(notes.count == 3, "\(notes)")
        #expect(notes.first?.last == ServingSourceNote(signal: .kvCacheUsage, metric: nil, tried: ServingSignal.kvCacheUsage.defaultMetrics))
        #expect(notes.dropFirst().first == [ServingSourceNote(signal: .kvCacheUsage, metric: "vllm:kv_cache_usage_perc", tried: [])])
        #expect(notes.last == [ServingSourceNote(signal: .kvCacheUsage, metric: "vllm:gpu_cache_usage_perc", tried: [])])
    }

    @Test("a latency criterion without a baseline is not judged, however slow")
    func noBaseline() {
        let (watch, _) = Self.feed(Array(repeating: Self.reading(ttft: 9, cache: 0.5), count: 30), from: Self.watch(ttftBaseline: nil))
        #expect(watch.state == .healthy && watch[.timeToFirstToken]?.worst == 9)
    }

    @Test("what the thread says: the criteria at the start, which metric each reads, the figures of a breach and a pass")
    func narration() {
        let narrator = WatchNarrator(policy: Self.policy, rollbackCommand: "/rollback")
        let started = narrator.started(Self.watch()).1.first?.plainText ?? ""
        let criteria = "time to first token P95 over 2× the baseline (200 ms) for 2m0s, KV-cache usage over 95.0% for 1m0s, or a complete outage"
        #expect(started.contains(criteria), "\(started)")
        let unknown = narrator.started(Self.watch(ttftBaseline: nil)).1.first?.plainText ?? ""
        #expect(unknown.contains("time to first token P95 not judged: Prometheus had none for the 1h0m0s before the change"), "\(unknown)")
        let (watch, events) = Self.feed([Self.reading(ttft: 0.2, cache: 0.97), Self.reading(ttft: nil, cache: 0.97), Self.reading(ttft: 0.2, cache: 0.99)])
        let told = narrator.told(watch, events)
        let texts = told.notices.map(\.plainText)
        #expect(
            texts.first == "📏 Watch of `r` reads time to first token P95 from `vllm:time_to_first_token_seconds`; KV-cache usage from "
                + "`vllm:gpu_cache_usage_perc` (vLLM's older name; `vllm:kv_cache_usage_perc` has no data).", "\(texts)")
        #expect(texts.contains("📏 Watch of `r` reads time to first token P95: no data under `vllm:time_to_first_token_seconds`, not judged until there is."))
        #expect(told.audit.map(\.event).filter { $0 == "watch.metrics" }.count == 3 && told.audit.last?.event == "watch.breach")
        let now = "Now: error rate 0.0%, P95 500 ms (baseline 500 ms), time to first token P95 200 ms (baseline 200 ms), KV-cache usage 99.0%"
        #expect(texts.last?.contains(now) == true, "\(texts)")
        let (passed, end) = Self.feed(Array(repeating: Self.reading(ttft: 0.3, cache: 0.6), count: 30))
        let summary = narrator.told(passed, end).notices.last?.plainText ?? ""
        #expect(summary.contains("worst time to first token P95 300 ms, worst KV-cache usage 60.0%"), "\(summary)")
    }

    @Test("the default queries try vLLM's current metric, then its older name; a query's metric is named without its suffix")
    func queries() {
        let queries = WatchQueries()
        let names = queries.serving[.interTokenLatency]?.map(ServingSignal.metric(in:))
        #expect(names == ["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"])
        let cache = #"max(avg_over_time(vllm:kv_cache_usage_perc{namespace="{namespace}",model_name="{model}"}[{window}]))"#
        #expect(queries.serving[.kvCacheUsage]?.first == cache)
        #expect(WatchQueries(serving: [.requestsWaiting: "sum(queue_depth)"]).serving[.requestsWaiting] == ["sum(queue_depth)"])
        #expect(ServingSignal.metric(in: "sum(queue_depth)") == "the configured query")
        #expect(ServingSignal.interTokenLatency.newerName(than: "vllm:time_per_output_token_seconds") == "vllm:inter_token_latency_seconds")
        #expect(ServingSignal.interTokenLatency.newerName(than: "vllm:inter_token_latency_seconds") == nil)
    }
}
