import Foundation

extension WatchJudge {
    /// Judges the configured serving criteria on one judged reading: each limit must be
    /// exceeded for its whole `holdFor`, like the seed's. A signal without data is not judged
    /// (said once, never a breach); a latency without a baseline is not judged either (said
    /// when the watch started). Returns the first breach, and which metrics answered when
    /// that changed.
    func judgeServing(_ watch: inout ModelWatch, _ samples: [ServingSignal: ServingSample], now: Date) -> (String?, [ServingSourceNote]) {
        var breach: String?
        var notes: [ServingSourceNote] = []
        for criterion in policy.serving {
            let signal = criterion.signal
            var track = watch[signal] ?? ServingTrack()
            defer { watch[signal] = track }
            switch samples[signal] ?? .noData(tried: []) {
            case .noData(let tried):
                track.since = nil
                if track.missing != true {
                    track.missing = true
                    notes.append(ServingSourceNote(signal: signal, metric: nil, tried: tried))
                }
            case .value(let value, let metric):
                if track.source != metric || track.missing == true {
                    notes.append(ServingSourceNote(signal: signal, metric: metric, tried: []))
                }
                track.source = metric
                track.missing = nil
                track.last = value
                track.worst = max(track.worst ?? value, value)
                let limit = signal.againstBaseline ? track.baseline.flatMap { $0 > 0 ? $0 * criterion.limit : nil } : criterion.limit
                guard let limit, value > limit else {
                    track.since = nil
                    continue
                }
                let since = track.since ?? now
                track.since = since
                if breach == nil, now.timeIntervalSince(since) >= criterion.holdFor.seconds {
                    let baseline = track.baseline.map(signal.describe) ?? ""
                    let over = signal.againstBaseline ? "\(signal.describeLimit(criterion.limit)) \(baseline)" : signal.describe(limit)
                    breach = "\(signal.title) \(signal.describe(value)), over \(over) since \(Self.clock(since)) (\(criterion.holdFor))"
                }
            }
        }
        return (breach, notes)
    }
}
