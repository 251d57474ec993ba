import Foundation
import Synchronization

/// Lets a job stop the program it is waiting on before that program's own timeout, the way
/// a person presses Ctrl-C: SIGTERM to its process group, SIGKILL after the runner's grace.
/// Unlike cancelling, the program's exit and output are returned as usual, so what it said
/// while stopping (helm's "Release … has been cancelled", the revision it marked failed) is
/// kept. Only programs started inside `CommandInterrupt.$current.withValue` listen to it.
public final class CommandInterrupt: Sendable {
    @TaskLocal public static var current: CommandInterrupt?

    private struct State {
        var fired = false
        var children: [ChildProcess] = []
        var grace: Duration = .seconds(5)
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether `fire()` was called.
    public var fired: Bool { state.withLock { $0.fired } }

    /// Stops every program running under this interrupt now, and any started later at once.
    public func fire() {
        let (children, grace) = state.withLock { state -> ([ChildProcess], Duration) in
            state.fired = true
            return (state.children, state.grace)
        }
        for child in children { child.stop(.interrupted, grace: grace) }
    }

    func attach(_ child: ChildProcess, grace: Duration) {
        let stopNow = state.withLock { state -> Bool in
            state.children.append(child)
            state.grace = grace
            return state.fired
        }
        if stopNow { child.stop(.interrupted, grace: grace) }
    }

    func detach(_ child: ChildProcess) {
        state.withLock { state in state.children.removeAll { $0 === child } }
    }
}
