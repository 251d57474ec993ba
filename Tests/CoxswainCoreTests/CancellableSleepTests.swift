import Testing

@testable import CoxswainCore

@Suite struct CancellableSleepTests {
    @Test func sleepsAtLeastItsDuration() async throws {
        let started = ContinuousClock.now
        try await cancellableSleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func aCancelledSleepThrowsAndReleasesItsTimerAtOnce() async throws {
        let before = SleepTimer.alive.load(ordering: .relaxed)
        let sleeps = (0..<500).map { _ in Task { try await cancellableSleep(for: .seconds(3600)) } }
        for sleep in sleeps { sleep.cancel() }
        for sleep in sleeps {
            await #expect(throws: CancellationError.self) { try await sleep.value }
        }
        // An hour-long timer that outlived its cancelled sleep would keep its sleep alive.
        // (A cancelled dispatch source lets go of its handler on its queue, so this is polled.)
        var left = SleepTimer.alive.load(ordering: .relaxed)
        let deadline = ContinuousClock.now + .seconds(10)
        while left > before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            left = SleepTimer.alive.load(ordering: .relaxed)
        }
        #expect(left <= before, "\(left - before) cancelled sleeps still hold their timers")
    }

    @Test func aSleepCancelledBeforeItStartsThrowsAtOnce() async {
        let sleep = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await cancellableSleep(for: .seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await sleep.value }
    }
}
