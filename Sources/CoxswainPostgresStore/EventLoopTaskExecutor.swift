import NIOCore
import Synchronization

/// Runs a task on one NIO event loop: the store's work on a connection runs on that
/// connection's loop, so each answer from PostgreSQL resumes the code where it arrived,
/// instead of being handed to the cooperative pool's threads and waiting for one to wake.
/// On two busy cores those hand-offs were a third of a round trip's time; with them gone the
/// webhook on PostgreSQL answers 11-13 % more requests a second (Benchmarks/README.md, "The
/// webhook on PostgreSQL", step 10). A store call is a few statements on a few rows, so
/// the code that runs on the loop between two statements is brief.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    private init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// One executor per event loop, kept for the process's life: Swift does not promise that a
    /// task keeps its preferred executor alive (it hands it around as `UnownedTaskExecutor`),
    /// and the loops are few (one per core).
    private static let made = Mutex([ObjectIdentifier: EventLoopTaskExecutor]())

    static func on(_ eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        made.withLock { made in
            if let executor = made[ObjectIdentifier(eventLoop)] { return executor }
            let executor = EventLoopTaskExecutor(eventLoop)
            made[ObjectIdentifier(eventLoop)] = executor
            return executor
        }
    }
}
