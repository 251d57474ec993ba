import CoxswainCore
import Foundation
import Testing

/// The seed's rollback criteria as the judge applies them, reading by reading.
@Suite struct WatchJudgeTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let policy = WatchPolicy(
        duration: GoDuration(seconds: 900), interval: GoDuration(seconds: 30), errorRate: 0.05, errorFor: GoDuration(seconds: 300),
        latencyFactor: 2, latencyFor: GoDuration(seconds: 600), minRequests: 20)

    static func watch(baseline: Double? = 0.5) -> ModelWatch {
        ModelWatch(
            jobID: 7, kind: .upgrade, release: "r", environment: "production", namespace: "production", model: "m", revisionBefore: 5,
            startedAt: start, endsAt: start.addingTimeInterval(900), baselineP95: baseline)
    }

    /// Feeds readings 30 s apart; returns the watch and every event.
    static func feed(_ readings: [WatchReading], from watch: ModelWatch = watch(), policy: WatchPolicy = policy) -> (ModelWatch, [WatchEvent]) {
        let judge = WatchJudge(policy: policy)
        var current = watch
        var events: [WatchEvent] = []
        for (index, reading) in readings.enumerated() {
            let (next, new) = judge.next(current, reading: reading, now: start.addingTimeInterval(Double(index + 1) * 30))
            current = next
            events += new
        }
        return (current, events)
    }

    static let good = WatchReading.figures(requests: 1000, errors: 4, p95: 0.6)
    static let failing = WatchReading.figures(requests: 1000, errors: 80, p95: 0.6)

    @Test("errors over 5 % must hold for 5 minutes; one good reading starts the clock again")
    func errorRate() {
        let (early, none) = Self.feed(Array(repeating: Self.failing, count: 10))
        #expect(early.state == .watching && none.isEmpty)  // 30 s .. 300 s: held for 270 s
        let (breached, events) = Self.feed(Array(repeating: Self.failing, count: 11))
        #expect(breached.state == .breached)
        guard case .breached(let text) = events.last else { Issue.record("no breach in \(events)"); return }
        #expect(text.hasPrefix("error rate 8.0%, over 5.0% since "))
        let (reset, _) = Self.feed(Array(repeating: Self.failing, count: 9) + [Self.good] + Array(repeating: Self.failing, count: 9))
        #expect(reset.state == .watching)
    }

    @Test("under 1 % never breaches, whatever the threshold; all requests failing is an outage at once")
    func floorAndOutage() {
        var lenient = Self.policy
        lenient.errorRate = 0.001
        let (floor, _) = Self.feed(Array(repeating: .figures(requests: 1000, errors: 9, p95: 0.5), count: 30), policy: lenient)
        #expect(floor.state == .healthy)
        let (outage, events) = Self.feed([Self.good, .figures(requests: 500, errors: 500, p95: nil)])
        #expect(outage.state == .breached && events == [.breached("complete outage: 100.0% of requests failed")])
    }

    @Test("P95 over twice the baseline for 10 minutes breaches; without a baseline latency is not judged")
    func latency() {
        let slow = WatchReading.figures(requests: 1000, errors: 0, p95: 1.2)
        let (breached, events) = Self.feed(Array(repeating: slow, count: 21))
        #expect(breached.state == .breached)
        guard case .breached(let text) = events.last else { Issue.record("no breach in \(events)"); return }
        #expect(text.hasPrefix("P95 latency 1.20 s, over 2× the baseline 500 ms since "))
        let (unknown, _) = Self.feed(Array(repeating: slow, count: 30), from: Self.watch(baseline: nil))
        #expect(unknown.state == .healthy)
    }

    @Test("no answer, no data and too little traffic are inconclusive, said once, and never a breach")
    func inconclusive() {
        let (watch, events) = Self.feed(
            [.unavailable("connection refused"), .unavailable("connection refused"), .noData, .figures(requests: 3, errors: 3, p95: nil)]
                + Array(repeating: .unavailable("timeout"), count: 26))
        #expect(watch.state == .inconclusive && watch.judged == 0)
        #expect(events.first == .inconclusive(reason: "Prometheus did not answer (connection refused)"))
        #expect(events.filter { if case .inconclusive = $0 { true } else { false } }.count == 1)
        #expect(events.last == .endedInconclusive(reason: "Prometheus did not answer (timeout)"))
    }

    @Test("judging again after a gap, then a healthy end")
    func gapThenHealthy() {
        let (watch, events) = Self.feed([.noData, .noData] + Array(repeating: Self.good, count: 28))
        #expect(events.prefix(2) == [.inconclusive(reason: "Prometheus has no data for these queries"), .judgingAgain])
        #expect(watch.state == .healthy && events.last == .healthy && watch.judged == 28 && watch.readings == 30)
        // A finished watch takes no more readings.
        #expect(WatchJudge(policy: Self.policy).next(watch, reading: Self.failing, now: Self.start.addingTimeInterval(1200)).1.isEmpty)
    }

    @Test("queries get the release's names and Prometheus's duration syntax")
    func queries() {
        let query = WatchQueries.render(WatchQueries.defaultErrors, model: "m", release: "r", namespace: "ns", window: GoDuration(seconds: 90))
        #expect(query == #"sum(increase(http_requests_total{namespace="ns",service="r",status=~"5.."}[90s]))"#)
        #expect(WatchQueries.promDuration(GoDuration(milliseconds: 1500)) == "1500ms")
    }
}
