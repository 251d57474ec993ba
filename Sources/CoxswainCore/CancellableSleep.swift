import Dispatch
import Synchronization

/// `Task.sleep(for:)` whose timer goes away when the sleep is cancelled.
///
/// On Linux, a cancelled `Task.sleep` returns at once but its timer (a task and a dispatch
/// timer, ~300 bytes) stays queued until the original deadline. The sleeps that are cut short
/// all the time: a command's timeout (minutes) raced against a command that takes
/// milliseconds, an idle wait ended by a signal, a store deadline the write beats. Those
/// piled up by the thousand while jobs ran back to back (heaptrack: 16,000 timers alive
/// after 2,000 jobs): memory that grew with every job for as long as the timeouts were.
///
/// Throws `CancellationError` when cancelled, as `Task.sleep` does.
public func cancellableSleep(for duration: Duration) async throws {
    try await cancellableSleep(for: duration, on: SleepTimer())
}

/// The sleep on a given timer, so that tests can watch the timer go away.
func cancellableSleep(for duration: Duration, on sleep: SleepTimer) async throws {
    try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            sleep.start(continuation, after: duration)
        }
    } onCancel: {
        sleep.cancel()
    }
}

/// One sleep's continuation and timer; whichever of the timer and a cancellation comes first
/// resumes the continuation, exactly once.
final class SleepTimer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var timer: (any DispatchSourceTimer)?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Void, any Error>, after duration: Duration) {
        let (seconds, attoseconds) = duration.components
        // Clamped rather than trapping: a sleep longer than 292 years is a sleep until the end.
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let nanoseconds = overflow ? (seconds < 0 ? 0 : Int64.max) : max(0, whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
        let started = state.withLock { state -> Bool in
            guard !state.cancelled else { return false }
            // Set up and activated under the lock: a source released before activation crashes.
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.setEventHandler { [self] in finish(nil) }
            timer.schedule(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds)), leeway: .milliseconds(1))
            timer.activate()
            state.continuation = continuation
            state.timer = timer
            return true
        }
        if !started { continuation.resume(throwing: CancellationError()) }
    }

    func cancel() { finish(CancellationError()) }

    private func finish(_ error: (any Error)?) {
        let (continuation, timer) = state.withLock { state in
            state.cancelled = true
            defer { (state.continuation, state.timer) = (nil, nil) }
            return (state.continuation, state.timer)
        }
        timer?.cancel()
        if let error { continuation?.resume(throwing: error) } else { continuation?.resume() }
    }
}
