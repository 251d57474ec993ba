import Foundation

/// Watching a release after a change: a durable record, so a restart resumes it where it was.
public struct ModelWatch: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        case watching, healthy, breached, inconclusive

        public var isFinished: Bool { self != .watching }
    }

    /// What one reading of the metrics showed.
    public struct Figures: Sendable, Equatable, Codable {
        public var requests: Double
        public var errorRate: Double
        /// Seconds; nil when there was no latency data.
        public var p95: Double?
        public var at: Date
        public init(requests: Double, errorRate: Double, p95: Double?, at: Date) {
            self.requests = requests; self.errorRate = errorRate; self.p95 = p95; self.at = at
        }
    }

    public var id: Int64
    /// The change it follows; nil for a watch someone asked for with `/watch`.
    public var jobID: Int64?
    /// What the change was; nil for `/watch`.
    public var kind: JobKind?
    /// For `/watch`: who asked, and the channel its verdicts go to.
    public var requestedBy: String?
    public var channel: String?
    /// The baseline is still to be read (`/watch` answers before asking Prometheus anything).
    public var needsBaseline: Bool?
    public var release: String
    public var environment: String
    public var namespace: String
    public var model: String
    /// The revision running before the change: what a rollback after a breach goes back to
    /// (nil after a rollback, which has nothing safe to go back to).
    public var revisionBefore: Int?
    public var startedAt: Date
    public var endsAt: Date
    public var nextCheckAt: Date
    /// P95 before the change, seconds; nil when Prometheus had none (latency is then not judged).
    public var baselineP95: Double?
    public var state: State
    public var readings: Int
    public var judged: Int
    /// Since when each criterion has held, while it holds.
    public var errorSince: Date?
    public var latencySince: Date?
    /// Since when readings could not be judged, and why.
    public var inconclusiveSince: Date?
    public var inconclusiveReason: String?
    public var last: Figures?
    public var worstErrorRate: Double
    public var worstP95: Double?
    /// The breach, in words, once there is one.
    public var verdict: String?
    /// The rollback a breach started by itself.
    public var autoRollbackJobID: Int64?
    /// The serving criteria's baselines, sources and clocks, by `ServingSignal` raw value
    /// (nil in watches recorded before there were any).
    public var serving: [String: ServingTrack]?

    public subscript(signal: ServingSignal) -> ServingTrack? {
        get { serving?[signal.rawValue] }
        set { serving = (serving ?? [:]).merging([signal.rawValue: newValue ?? ServingTrack()]) { $1 } }
    }

    public init(
        id: Int64 = 0, jobID: Int64?, kind: JobKind?, release: String, environment: String, namespace: String, model: String,
        revisionBefore: Int?, startedAt: Date, endsAt: Date, baselineP95: Double?
    ) {
        self.id = id; self.jobID = jobID; self.kind = kind; self.release = release; self.environment = environment
        self.namespace = namespace; self.model = model; self.revisionBefore = revisionBefore; self.startedAt = startedAt
        self.endsAt = endsAt; self.nextCheckAt = startedAt; self.baselineP95 = baselineP95; self.state = .watching
        self.readings = 0; self.judged = 0; self.worstErrorRate = 0
    }
}

/// One answer from Prometheus for a watch.
public enum WatchReading: Sendable, Equatable {
    case figures(requests: Double, errors: Double, p95: Double?, serving: [ServingSignal: ServingSample] = [:])
    /// Prometheus answered with no series: nothing is scraped under these names (yet).
    case noData
    /// Prometheus did not answer, or answered with an error.
    case unavailable(String)
}

/// What a reading changed, for the thread and the audit trail.
public enum WatchEvent: Sendable, Equatable {
    case inconclusive(reason: String)
    case judgingAgain
    /// Which metric each serving criterion reads, the first time and whenever that changes.
    case servingSources([ServingSourceNote])
    case breached(String)
    case healthy
    case endedInconclusive(reason: String)
}

/// Judges readings against the policy. Pure: the watch service asks Prometheus, the store
/// keeps the result; this decides.
public struct WatchJudge: Sendable {
    public let policy: WatchPolicy
    public init(policy: WatchPolicy) { self.policy = policy }

    public func next(_ watch: ModelWatch, reading: WatchReading, now: Date) -> (ModelWatch, [WatchEvent]) {
        guard watch.state == .watching else { return (watch, []) }
        var watch = watch
        var events: [WatchEvent] = []
        watch.readings += 1
        watch.nextCheckAt = now.addingTimeInterval(policy.interval.seconds)
        switch reading {
        case .unavailable(let why):
            events += inconclusive(&watch, "Prometheus did not answer (\(why))", now: now)
        case .noData:
            events += inconclusive(&watch, "Prometheus has no data for these queries", now: now)
        case .figures(let requests, _, _, _) where requests < policy.minRequests || requests <= 0:
            events += inconclusive(
                &watch, "too few requests to judge (\(Self.number(requests)) in \(policy.rateWindow), fewer than \(Self.number(policy.minRequests)))",
                now: now)
        case .figures(let requests, let errors, let p95, let serving):
            if watch.inconclusiveSince != nil {
                watch.inconclusiveSince = nil
                watch.inconclusiveReason = nil
                events.append(.judgingAgain)
            }
            let errorRate = min(1, max(0, errors / requests))
            watch.judged += 1
            watch.last = .init(requests: requests, errorRate: errorRate, p95: p95, at: now)
            watch.worstErrorRate = max(watch.worstErrorRate, errorRate)
            if let p95 { watch.worstP95 = max(watch.worstP95 ?? 0, p95) }
            let seed = judge(&watch, errorRate: errorRate, p95: p95, now: now)
            let (servingBreach, notes) = judgeServing(&watch, serving, now: now)
            if !notes.isEmpty { events.append(.servingSources(notes)) }
            if let breach = seed ?? servingBreach {
                watch.state = .breached
                watch.verdict = breach
                return (watch, events + [.breached(breach)])
            }
        }
        if now >= watch.endsAt {
            if let reason = watch.inconclusiveReason {
                watch.state = .inconclusive
                events.append(.endedInconclusive(reason: reason))
            } else if watch.judged == 0 {
                watch.state = .inconclusive
                events.append(.endedInconclusive(reason: "no reading could be judged"))
            } else {
                watch.state = .healthy
                events.append(.healthy)
            }
        }
        return (watch, events)
    }

    private func inconclusive(_ watch: inout ModelWatch, _ reason: String, now: Date) -> [WatchEvent] {
        let first = watch.inconclusiveSince == nil
        if first { watch.inconclusiveSince = now }
        watch.inconclusiveReason = reason
        return first ? [.inconclusive(reason: reason)] : []
    }

    /// The breach, if one criterion has now held for its whole duration.
    private func judge(_ watch: inout ModelWatch, errorRate: Double, p95: Double?, now: Date) -> String? {
        if errorRate >= WatchPolicy.outageRate {
            return "complete outage: \(Self.percent(errorRate)) of requests failed"
        }
        if errorRate > policy.errorRate && errorRate >= WatchPolicy.errorFloor {
            let since = watch.errorSince ?? now
            watch.errorSince = since
            if now.timeIntervalSince(since) >= policy.errorFor.seconds {
                return "error rate \(Self.percent(errorRate)), over \(Self.percent(policy.errorRate)) since \(Self.clock(since)) (\(policy.errorFor))"
            }
        } else {
            watch.errorSince = nil
        }
        if let p95, let baseline = watch.baselineP95, baseline > 0, p95 > policy.latencyFactor * baseline {
            let since = watch.latencySince ?? now
            watch.latencySince = since
            if now.timeIntervalSince(since) >= policy.latencyFor.seconds {
                return "P95 latency \(Self.seconds(p95)), over \(Self.number(policy.latencyFactor))× the baseline \(Self.seconds(baseline)) "
                    + "since \(Self.clock(since)) (\(policy.latencyFor))"
            }
        } else {
            watch.latencySince = nil
        }
        return nil
    }

    public static func percent(_ fraction: Double) -> String { String(format: "%.1f%%", fraction * 100) }
    public static func seconds(_ value: Double) -> String { value < 1 ? "\(Int((value * 1000).rounded())) ms" : String(format: "%.2f s", value) }
    public static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e12 ? String(Int(value)) : String(format: "%.1f", value)
    }
    public static func clock(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "HH:mm:ss 'UTC'"
        return formatter.string(from: date)
    }
}
