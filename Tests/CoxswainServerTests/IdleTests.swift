import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// Idle means idle: with no traffic, the worker and the notifier read a little once per
/// poll interval and write nothing. (A wake-up that stopped waiting after its first
/// timeout once made them spin on empty write transactions, ~3,500 a second.)
@Suite("idle", .serialized)
struct IdleTests {
    @Test("an idle server reads a few times per poll interval and writes nothing")
    func idleServerStaysIdle() async throws {
        let database = try AppDatabase.inMemory()
        try await Harness.run(database: database) { h in
            // Let it settle: the lease is taken (one write) and the services are polling.
            try await Eventually.until("the server to hold its lease") { try await database.currentLease() != nil }
            let clock = ContinuousClock()
            let start = database.transactionCounts
            let started = clock.now
            // 100 ms poll interval in tests: wait until 60 reads happened and see how long it took.
            try await Eventually.until("60 idle reads", timeout: .seconds(90)) { database.transactionCounts.reads - start.reads >= 60 }
            let elapsed = clock.now - started
            let end = database.transactionCounts
            let readsPerInterval = Double(end.reads - start.reads) / (elapsed.secondsDouble / 0.1)
            #expect(readsPerInterval <= 6, "\(end.reads - start.reads) reads in \(elapsed)")
            // The only writes are lease renewals, one every lease_duration / 3 (10 s here); a loaded
            // machine takes longer to make 60 reads, so more of them may fall in the window.
            let renewals = Int(elapsed.secondsDouble / 10) + 1
            #expect(end.writes - start.writes <= renewals, "\(end.writes - start.writes) writes in \(elapsed) (only lease renewals are expected)")
            _ = h
        }
    }
}
