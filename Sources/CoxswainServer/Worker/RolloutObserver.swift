import CoxswainCluster
import CoxswainCore
import Foundation

/// Tells the live message how a step's wait for pods is going.
typealias StepProgress = @Sendable (String) async -> Void

/// Follows a release's pods while helm or kubectl waits for them: each pod that is not ready
/// yet, and where it is (Pending and why, pulling its image, loading its weights, failing),
/// goes to the running step's line in the live message whenever it changes. When the pods
/// show the wait cannot succeed (an image that does not exist, a crash loop, OOMKilled, no
/// node for longer than `unschedulable_after`), the waiting program can be stopped at once
/// instead of at its timeout.
struct RolloutObserver: Sendable {
    let kubectl: KubectlClient
    let release: CoxswainConfiguration.Release
    /// How often the pods are read: the live message's edit interval, at least a second.
    let interval: Duration
    let unschedulableGrace: GoDuration
    let progress: StepProgress

    struct Outcome<Value: Sendable>: Sendable {
        let value: Value
        /// Why the wait could not succeed, with the crashed container's last log line; nil while nothing said so.
        let stuck: RolloutWatch.Stuck?
    }

    /// The names of the release's pods now; nil when they cannot be read.
    func podNames() async -> Set<String>? {
        guard let (pods, _) = try? await kubectl.pods(release: release.name, namespace: release.namespace) else { return nil }
        return Set(pods.pods.map(\.name))
    }

    /// Runs `wait` while following the pods that are not in `old`. With `interrupting`, a wait
    /// that cannot succeed is stopped (SIGTERM, as Ctrl-C would; helm then records the revision
    /// failed); without, the line says so and the program runs to its own end. With `old`
    /// unknown (nil), the pods are shown but nothing is stopped: a pod that ran before the
    /// change could not be told from a new one.
    func following<Value: Sendable>(
        interrupting: Bool, old: Set<String>?, _ wait: @escaping @Sendable () async -> Value
    ) async -> Outcome<Value> {
        let interrupt = CommandInterrupt()
        return await withTaskGroup(of: RolloutWatch.Stuck?.self) { group in
            // Outside the interrupt's scope: firing it must not stop the observer's own kubectl calls.
            group.addTask { await observe(interrupt: interrupting ? interrupt : nil, old: old) }
            let value = await CommandInterrupt.$current.withValue(interrupt) { await wait() }
            group.cancelAll()
            let stuck = await group.next() ?? nil
            return Outcome(value: value, stuck: stuck)
        }
    }

    private func observe(interrupt: CommandInterrupt?, old: Set<String>?) async -> RolloutWatch.Stuck? {
        var watch = RolloutWatch(unschedulableGrace: Double(unschedulableGrace.milliseconds) / 1000)
        var shown: String?
        var stuck: RolloutWatch.Stuck?
        while !Task.isCancelled {
            if let (pods, _) = try? await kubectl.pods(release: release.name, namespace: release.namespace), !pods.pods.isEmpty {
                var (line, found) = watch.observe(pods, now: Date(), old: old ?? [])
                if stuck == nil, old != nil, var found {
                    if let container = found.crashedContainer,
                        let last = try? await kubectl.previousLogLine(pod: found.pod, container: container, namespace: release.namespace), !last.isEmpty
                    {
                        // The pod's own words, of any length: a line's start says what went wrong.
                        found.what += "; its last log line: \(last.count > 300 ? last.prefix(300) + "…" : last)"
                    }
                    stuck = found
                    if let interrupt {
                        interrupt.fire()
                        await progress(line + " · stopping the wait")
                        return stuck
                    }
                }
                if stuck != nil { line += " · helm waits until its --timeout: a rollback stopped part-way would stay pending-rollback" }
                if line != shown {
                    await progress(line)
                    shown = line
                }
            }
            try? await Task.sleep(for: interval)
        }
        return stuck
    }
}
