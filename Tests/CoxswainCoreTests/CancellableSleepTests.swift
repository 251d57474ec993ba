import Testing

@testable import CoxswainCore

@Suite struct CancellableSleepTests {
    @Test func sleepsAtLeastItsDuration() async throws {
        let started = ContinuousClock.now
        try await cancellableSleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func aCancelledSleepThrowsAndReleasesItsTimerAtOnce() async throws {
        final class Watched: @unchecked Sendable { weak var timer: SleepTimer? }
        let watched = (0..<500).map { _ in Watched() }
        let sleeps = watched.map { watch in
            let timer = SleepTimer()
            watch.timer = timer
            return Task { try await cancellableSleep(for: .seconds(3600), on: timer) }
        }
        for sleep in sleeps { sleep.cancel() }
        for sleep in sleeps {
            await #expect(throws: CancellationError.self) { try await sleep.value }
        }
        // An hour-long timer that outlived its cancelled sleep would keep it alive for the hour.
        // (A cancelled dispatch source lets go of its handler on its queue, so this is polled.)
        var left = watched.filter { $0.timer != nil }.count
        let deadline = ContinuousClock.now + .seconds(10)
        while left > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            left = watched.filter { $0.timer != nil }.count
        }
        #expect(left == 0, "\(left) cancelled sleeps still hold their timers")
    }

    /// Durations longer than nanoseconds can count (292 years) once trapped in the conversion.
    @Test func anEndlessSleepIsCancelledLikeAnyOther() async {
        for duration in [Duration.seconds(Int64.max), .milliseconds(Int64.max), GoDuration(seconds: .infinity).duration] {
            let sleep = Task { try await cancellableSleep(for: duration) }
            sleep.cancel()
            await #expect(throws: CancellationError.self) { try await sleep.value }
        }
    }

    @Test func aSleepCancelledBeforeItStartsThrowsAtOnce() async {
        let sleep = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await cancellableSleep(for: .seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await sleep.value }
    }
}
