import Foundation

/// A runner: one Coxswain process that runs jobs. Several may share a database (replicas);
/// after a restart the new process is a new runner.
public struct RunnerIdentity: Sendable, Equatable {
    /// Unique per process: `host:pid:random`.
    public var id: String
    public var host: String
    /// Where `pid` names a process: the machine's boot and its PID namespace. Two runners in
    /// the same space see the same processes, so one can tell whether the other is alive.
    public var processSpace: String
    public var pid: Int

    public init(id: String, host: String, processSpace: String, pid: Int) {
        self.id = id; self.host = host; self.processSpace = processSpace; self.pid = pid
    }

    /// How people see it: "replica coxswain-7f9c (pid 412)".
    public var name: String { "replica \(host) (pid \(pid))" }

    /// Whether the process `pid` of `processSpace` (a claim's runner, the lease's holder) is
    /// known to be gone, as this runner can tell: only in its own process space, where the same
    /// pid is this process (its predecessor, in a restarted container) or `isAlive` says no.
    public func knowsGone(pid: Int, processSpace: String, isAlive: (Int) -> Bool) -> Bool {
        guard !processSpace.isEmpty, processSpace == self.processSpace else { return false }
        return pid == self.pid || !isAlive(pid)
    }
}

/// A runner's hold on a running job. It expires unless renewed; every claim of a job has a
/// higher generation than the one before, and every write a runner makes is checked against
/// the generation it holds, so a runner that lost its claim (paused, cut off) records nothing.
public struct RunnerClaim: Sendable, Equatable {
    public var generation: Int
    public var runner: RunnerIdentity
    /// When the runner last renewed it: its last sign of life.
    public var renewedAt: Date
    public var expiresAt: Date

    public init(generation: Int, runner: RunnerIdentity, renewedAt: Date, expiresAt: Date) {
        self.generation = generation; self.runner = runner; self.renewedAt = renewedAt; self.expiresAt = expiresAt
    }
}

/// Why a running job may be taken over by another runner.
public enum Abandonment: Sendable, Equatable {
    /// Its claim was not renewed in time.
    case expired
    /// Its runner shares this process space and is no longer alive: no need to wait.
    case runnerGone
    /// Recorded as running by a version without claims.
    case unclaimed

    public var words: String {
        switch self {
        case .expired: return "its claim expired"
        case .runnerGone: return "its runner's process is gone"
        case .unclaimed: return "it was left running without a claim"
        }
    }
}

extension Job {
    /// Whether `runner` may take this running job over at `now`. `isAlive` answers for a pid
    /// in `runner`'s own process space.
    public func abandonment(by runner: RunnerIdentity, now: Date, isAlive: (Int) -> Bool) -> Abandonment? {
        guard state == .running else { return nil }
        guard let claim else { return .unclaimed }
        if claim.runner.id == runner.id { return nil }
        if claim.expiresAt <= now { return .expired }
        return runner.knowsGone(pid: claim.runner.pid, processSpace: claim.runner.processSpace, isAlive: isAlive) ? .runnerGone : nil
    }
}
