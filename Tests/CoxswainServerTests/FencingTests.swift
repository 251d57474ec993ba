import CoxswainCluster
import CoxswainCore
import CoxswainStore
import Foundation
import Logging
import Testing

@testable import CoxswainServer

/// A runner that lost its job's claim (paused or cut off past its expiry while another runner
/// took the job over) records nothing and starts no command; one that holds it keeps it renewed,
/// and long enough for a change's whole timeout.
@Suite("fencing a runner by its claim")
struct FencingTests {
    static let lifecycle = JobLifecycle(
        narrator: JobNarrator(runbook: { _ in nil }, hasAuditChannel: false, approvalTTL: { _ in GoDuration(milliseconds: 1_800_000) }),
        approvers: { _ in Approvers(users: [], groups: []) }, approvalTTL: { _ in GoDuration(milliseconds: 1_800_000) })
    static let a = RunnerIdentity(id: "a:1:x", host: "node-a", processSpace: "boot-a", pid: 1)
    static let b = RunnerIdentity(id: "b:1:y", host: "node-b", processSpace: "boot-b", pid: 1)
    static let logger = Logger(label: "fencing-test")

    /// A queued job claimed by runner A for 30 s at the clock's time.
    static func claimedByA(_ database: AppDatabase, clock: TestClock) async throws -> Job {
        let request = JobRequest(
            kind: .rollback, command: "/rollback", release: "r", environment: "production", namespace: "production",
            model: "m", requestedBy: "U1", channel: "C1", platform: "slack")
        _ = try await database.accept(
            request, approvalsRequired: 0, requestKey: "k", references: [], now: clock.now, join: nil,
            created: { job, _ in JobChange(job: job) }, joined: { JobChange(job: $0) })
        let now = clock.now
        return try #require(try await database.claimNext(now: now) { lifecycle.claimed($0, by: a, until: now.addingTimeInterval(30), now: now) })
    }

    static func claim(_ job: Job, _ database: AppDatabase, clock: TestClock, duration: Duration = .seconds(30)) -> JobClaim {
        JobClaim(job, runner: a, duration: duration, jobs: database, lifecycle: lifecycle, now: { clock.now }, logger: logger)
    }

    @Test("paused past its claim while another runner took the job over: its next write and its next command are refused, nothing is recorded")
    func pausedRunnerRecordsNothing() async throws {
        let database = try AppDatabase.inMemory()
        let clock = TestClock()
        let mine = try await Self.claimedByA(database, clock: clock)
        let claim = Self.claim(mine, database, clock: clock)
        // A is paused; its claim expires; B takes the job over.
        clock.advance(by: 31)
        let current = try #require(try await database.job(id: mine.id))
        let why = try #require(current.abandonment(by: Self.b, now: clock.now, isAlive: { _ in true }))
        #expect(why == .expired)
        let taken = try await database.commit(
            Self.lifecycle.takenOver(current, by: Self.b, why: why, until: clock.now.addingTimeInterval(30), now: clock.now), now: clock.now)
        #expect(taken.claim?.generation == 2 && taken.handover == "taken over by replica node-b (pid 1) after 31 s")

        // A wakes: a step's start is not recorded…
        await #expect(throws: ClaimLost.self) {
            try await claim.transitions.apply(mine, "record a step") {
                Self.lifecycle.stepStarted($0, position: 0, step: RunbookStep(title: "t", action: .helmHistory), now: clock.now)
            }
        }
        // …and no command starts: the gate asks for a renewal, which finds the job is B's.
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("fenced-\(UUID().uuidString)")
        let runner = CommandRunner(searchPath: "/usr/bin:/bin", environment: [:])
        await #expect(throws: (any Error).self) {
            try await CommandGate.$current.withValue(claim) { _ = try await runner.run("touch", [marker.path], timeout: .seconds(10)) }
        }
        #expect(!FileManager.default.fileExists(atPath: marker.path))
        #expect(claim.isLost)
        let after = try #require(try await database.job(id: mine.id))
        #expect(after.version == taken.version && after.steps.isEmpty && after.claim?.runner == Self.b)
    }

    @Test("a runner that holds its claim: commands start, the claim is renewed before it runs short, and a change gets its whole timeout")
    func heldClaimIsRenewed() async throws {
        let database = try AppDatabase.inMemory()
        let clock = TestClock()
        let mine = try await Self.claimedByA(database, clock: clock)
        let claim = Self.claim(mine, database, clock: clock)
        let runner = CommandRunner(searchPath: "/usr/bin:/bin", environment: [:])
        // Plenty left: the command starts without a write.
        let output = try await CommandGate.$current.withValue(claim) { try await runner.run("true", [], timeout: .seconds(10)) }
        #expect(output.succeeded)
        #expect(try await database.job(id: mine.id)?.version == mine.version)
        // 25 s later, 5 s left: renewed for another 30 s before the command starts.
        clock.advance(by: 25)
        _ = try await CommandGate.$current.withValue(claim) { try await runner.run("true", [], timeout: .seconds(10)) }
        let renewed = try #require(try await database.job(id: mine.id)?.claim)
        #expect(renewed.expiresAt == clock.now.addingTimeInterval(30) && renewed.generation == 1)
        // A helm rollback with a 10-minute timeout: the claim must outlast it (and the minute past it) before it starts.
        claim.require(JobRunner.commandNeed(RunbookStep(title: "Helm rollback", action: .helmRollback, timeout: GoDuration(milliseconds: 600_000))))
        _ = try await CommandGate.$current.withValue(claim) { try await runner.run("true", [], timeout: .seconds(10)) }
        let long = try #require(try await database.job(id: mine.id)?.claim)
        #expect(long.expiresAt >= clock.now.addingTimeInterval(660))
        // Nobody may take it over meanwhile, from anywhere.
        clock.advance(by: 600)
        #expect(try await database.job(id: mine.id)?.abandonment(by: Self.b, now: clock.now, isAlive: { _ in false }) == nil)
        // The change done, the claim is the usual 30 s again: a runner dying now is taken over after that.
        try await claim.shorten()
        #expect(try await database.job(id: mine.id)?.claim?.expiresAt == clock.now.addingTimeInterval(30))
    }

    @Test("the heartbeat renews a held claim every third of its duration")
    func heartbeat() async throws {
        let database = try AppDatabase.inMemory()
        let clock = TestClock()
        let mine = try await Self.claimedByA(database, clock: clock)
        let claim = Self.claim(mine, database, clock: clock, duration: .milliseconds(300))
        let beating = Task { await claim.keepRenewed() }
        defer { beating.cancel() }
        clock.advance(by: 100)
        try await Eventually.until("the claim to be renewed") {
            (try await database.job(id: mine.id)?.claim?.renewedAt ?? .distantPast) >= clock.now
        }
    }
}
