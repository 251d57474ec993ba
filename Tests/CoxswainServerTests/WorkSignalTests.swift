import CoxswainCore
@testable import CoxswainServer
import Foundation
import Testing

/// The wake-up primitive the worker and the notifier sleep on. A stream-based version
/// returned at once from every wait after its first timeout, so an idle server spun.
@Suite struct WorkSignalTests {
    @Test("waits that time out keep waiting the full timeout afterwards")
    func timeoutsDoNotBreakLaterWaits() async {
        let signal = WorkSignal()
        let clock = ContinuousClock()
        for _ in 0..<5 {
            let started = clock.now
            await signal.wait(timeout: .milliseconds(40))
            #expect(clock.now - started >= .milliseconds(40))
        }
    }

    /// The wait's own timeout is an hour: only the signal can end it before the test's limit.
    /// (A bound on elapsed time instead would fail on a loaded machine, where waking a task
    /// can take seconds.)
    @Test("a signal wakes a waiter, also after earlier timeouts", .timeLimit(.minutes(1)))
    func signalWakesAfterTimeouts() async {
        let signal = WorkSignal()
        for _ in 0..<3 { await signal.wait(timeout: .milliseconds(10)) }
        async let woken: Void = signal.wait(timeout: .seconds(3600))
        // Whether the waiter is registered yet or not, one signal reaches it: a signal
        // nobody waits for is kept and consumed by the next wait.
        signal.signal()
        await woken
    }

    @Test("a signal while nobody waits is kept as one pending wake-up")
    func pendingSignal() async {
        let signal = WorkSignal()
        signal.signal()
        signal.signal()
        let clock = ContinuousClock()
        var started = clock.now
        await signal.wait(timeout: .seconds(30))
        #expect(clock.now - started < .seconds(10))
        started = clock.now
        await signal.wait(timeout: .milliseconds(40))
        #expect(clock.now - started >= .milliseconds(40))
    }

    @Test("a new job wakes the worker only when it can start or is a rollback whose basis must be read")
    func wakeRule() {
        func job(_ kind: JobKind) -> Job {
            Job(
                id: 1,
                request: JobRequest(
                    kind: kind, command: "/\(kind.rawValue)", release: "r", environment: "production", namespace: "production", model: "m",
                    requestedBy: "U1", channel: "C1", platform: "slack"),
                approvalsRequired: 0, createdAt: Date())
        }
        #expect(ChangeIntake.wakesWorker(job(.upgrade), jobsAhead: 0))
        #expect(!ChangeIntake.wakesWorker(job(.upgrade), jobsAhead: 3))
        #expect(ChangeIntake.wakesWorker(job(.rollback), jobsAhead: 3))
        #expect(ChangeIntake.wakesWorker(job(.rollback), jobsAhead: 0))
    }
}
