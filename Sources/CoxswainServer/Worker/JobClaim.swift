import CoxswainCluster
import CoxswainCore
import Foundation
import Logging
import Synchronization

/// This runner no longer holds a job: another runner took it over (this one was paused or
/// cut off for longer than its claim). Nothing more is recorded or started for it here.
struct ClaimLost: Error, CustomStringConvertible {
    let jobID: Int64
    var description: String { "job #\(jobID) is no longer this runner's: another runner took it over" }
}

/// A runner's hold on one running job. It is renewed in the background every third of its
/// duration, and before any command for which less is left than the step may take (a rollback's
/// `--timeout`), so a claim never runs out while a command this runner started may still be
/// changing the cluster. Every command of the job asks it first (`CommandGate`).
final class JobClaim: CommandPermit, Sendable {
    let jobID: Int64
    let runner: RunnerIdentity
    let generation: Int
    let duration: Duration
    private let jobs: any JobStore
    private let lifecycle: JobLifecycle
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var expiresAt: Date
        /// How long the current step's commands may take.
        var need: Duration = .zero
        var lost = false
    }

    init(
        _ job: Job, runner: RunnerIdentity, duration: Duration, jobs: any JobStore, lifecycle: JobLifecycle, now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.jobID = job.id; self.runner = runner; self.generation = job.claim?.generation ?? 0; self.duration = duration
        self.jobs = jobs; self.lifecycle = lifecycle; self.now = now; self.logger = logger
        state = Mutex(State(expiresAt: job.claim?.expiresAt ?? .distantPast))
    }

    /// The job's writes, each checked against this claim's generation.
    var transitions: JobTransitions {
        JobTransitions(jobs: jobs, persistence: .patient(logger), now: now, fence: JobTransitions.Fence(runner: runner, generation: generation))
    }

    var isLost: Bool { state.withLock { $0.lost } }

    /// Before a step: what its commands need left. A step that changes the cluster needs its whole timeout.
    func require(_ need: Duration) { state.withLock { $0.need = need } }

    func permit(_ argv: [String]) async throws {
        let (expiresAt, need, lost) = state.withLock { ($0.expiresAt, $0.need, $0.lost) }
        if lost { throw ClaimLost(jobID: jobID) }
        let left = expiresAt.timeIntervalSince(now())
        if left < (need + duration / 3).secondsDouble {
            try await renew(lasting: max(duration, need + duration / 3))
        }
    }

    /// Renews the claim every third of its duration until the task is cancelled or the claim is lost.
    func keepRenewed() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: duration / 3)
                try await renew(lasting: duration)
            } catch {
                return  // the claim is lost (already logged), or the job ended and cancelled this
            }
        }
    }

    /// After a change to the cluster: the claim goes back to its usual length, so a runner that
    /// dies later is taken over after that, not after the change's whole timeout.
    func shorten() async throws {
        state.withLock { $0.need = .zero }
        try await renew(lasting: duration, shortening: true)
    }

    /// Extends the claim to at least `lasting` from now (exactly, `shortening`), if this runner still holds it.
    func renew(lasting: Duration, shortening: Bool = false) async throws {
        let jobs = self.jobs, id = jobID, lifecycle = self.lifecycle, runner = self.runner, generation = self.generation, now = self.now
        do {
            let persistence = Persistence.patient(logger)
            guard let current = try await persistence.run("read job #\(id)", { try await jobs.job(id: id) }) else { throw ClaimLost(jobID: id) }
            let until = now().addingTimeInterval(lasting.secondsDouble)
            let saved = try await transitions.apply(current, "renew job #\(id)'s claim") { job in
                lifecycle.renewed(job, by: runner, generation: generation, until: until, shortening: shortening, now: now())
            }
            guard saved.holds(runner, generation: generation), let expiresAt = saved.claim?.expiresAt else { throw ClaimLost(jobID: id) }
            state.withLock { $0.expiresAt = expiresAt }
        } catch let lost as ClaimLost {
            let first = state.withLock { state in
                defer { state.lost = true }
                return !state.lost
            }
            if first { logger.warning("\(lost); this runner starts nothing more for it and records nothing") }
            throw lost
        }
    }
}

extension RunnerIdentity {
    /// This process: its host name, pid, and the process space they mean something in (the
    /// kernel's boot id and the PID namespace), read from /proc. Empty when unreadable: then
    /// no other runner judges this one's liveness by its pid.
    static func current(id: String) -> RunnerIdentity {
        let info = ProcessInfo.processInfo
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        let space = boot.flatMap { boot in namespace.map { "\(boot) \($0)" } } ?? ""
        return RunnerIdentity(id: id, host: info.hostName, processSpace: space, pid: Int(info.processIdentifier))
    }

    /// Whether a process of this process space with `pid` exists (EPERM: it does, as another user's).
    static func isAlive(_ pid: Int) -> Bool {
        guard pid > 0, let pid = Int32(exactly: pid) else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
