/// Which open job a new request joins instead of starting its own: an open rollback of the
/// same release; a request naming a revision joins only a job rolling back to that revision;
/// a break-glass request never waits behind a job that is not running yet. Upgrades never
/// join. The store evaluates the same rule as an indexed query (the oldest open job that
/// matches); `matches` is the rule itself, which the store checks again on what it found.
public struct JoinFilter: Sendable, Equatable {
    public var release: String
    public var revision: Int?
    public var emergency: Bool

    public init?(_ request: JobRequest) {
        guard request.kind == .rollback else { return nil }
        release = request.release
        revision = request.revision
        emergency = request.emergency
    }

    public func matches(_ job: Job) -> Bool {
        guard job.request.kind == .rollback, job.request.release == release else { return false }
        guard revision == nil || revision == job.request.revision else { return false }
        return !emergency || job.state == .running || job.request.emergency
    }
}
