/// Asked before every program Coxswain starts on behalf of a job: a runner that no longer
/// holds its job (another replica took it over while this one was paused or cut off) must
/// start nothing more for it.
public protocol CommandPermit: Sendable {
    /// Returns when `argv` may start (renewing what must be renewed first); throws when it must not.
    func permit(_ argv: [String]) async throws
}

public enum CommandGate {
    /// The permit of the job the current task works on; nil outside a job (doctor, sandbox).
    @TaskLocal public static var current: (any CommandPermit)?
}
