import CoxswainCore

/// The queries run on every request, worker pass or notifier pass. Each is answered from an
/// index (`v7-hot-paths`); `QueryPlanTests` asks SQLite for their plans and fails on a scan.
/// The partial indexes are used only when a query repeats their WHERE terms word for word.
enum HotPathQueries {
    static let openStates = "('queued', 'awaiting_approval', 'awaiting_confirmation', 'running')"
    static let waitingStates = "('awaiting_approval', 'awaiting_confirmation')"

    /// Heads of jobs' notice queues that are due, oldest due first. Arguments: platform, now, limit.
    static let dueNotices = """
        SELECT * FROM notice WHERE platform = ? AND state = 'pending' AND head = 1 AND sendingSince IS NULL AND notBefore <= ?
        ORDER BY notBefore, id LIMIT ?
        """

    /// When the next head falls due. Argument: platform.
    static let nextDueNotice = """
        SELECT notBefore FROM notice WHERE platform = ? AND state = 'pending' AND head = 1 AND sendingSince IS NULL
        ORDER BY notBefore LIMIT 1
        """

    /// The open rollback a new rollback joins (`JoinFilter`), any target. Arguments: release, emergency.
    static let joinableRollback = """
        SELECT id FROM job WHERE release = ?1 AND kind = 'rollback' AND state IN \(openStates)
        AND (?2 = 0 OR state = 'running' OR emergency = 1) ORDER BY id LIMIT 1
        """

    /// The same for a request naming a revision. Arguments: release, revision, emergency.
    static let joinableRollbackTo = """
        SELECT id FROM job WHERE release = ?1 AND requestedRevision = ?2 AND kind = 'rollback' AND state IN \(openStates)
        AND (?3 = 0 OR state = 'running' OR emergency = 1) ORDER BY id LIMIT 1
        """

    /// The id the next job gets: what AUTOINCREMENT would give (jobs are never deleted, but
    /// the sequence is the authority). Reads the end of the primary key and one row per table
    /// that has a sequence.
    static let nextJobID = """
        SELECT MAX(COALESCE((SELECT MAX(id) FROM job), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'job'), 0)) + 1
        """

    /// How many jobs of the release are queued or running before job `id`, counted up to one
    /// more than `JobLifecycle.countedAhead`. Arguments: release, id.
    static let jobsAhead = """
        SELECT COUNT(*) FROM (SELECT 1 FROM job WHERE release = ? AND state IN ('queued', 'running') AND id < ? LIMIT \(JobLifecycle.countedAhead + 1))
        """

    /// The releases that have queued jobs, one index probe each (a skip scan SQLite does
    /// not do by itself), and the oldest queued job of each.
    static let oldestQueuedPerRelease = """
        WITH RECURSIVE queued(release) AS (
            SELECT MIN(release) FROM job WHERE state = 'queued'
            UNION ALL
            SELECT (SELECT MIN(release) FROM job WHERE state = 'queued' AND release > queued.release) FROM queued WHERE queued.release IS NOT NULL
        )
        SELECT (SELECT MIN(id) FROM job WHERE state = 'queued' AND release = queued.release) AS id FROM queued WHERE release IS NOT NULL
        """

    /// Whether a job of this release, or of this model in this environment, is running. Arguments: release, model, environment.
    static let blocked = """
        SELECT EXISTS (SELECT 1 FROM job WHERE release = ? AND state = 'running')
            OR EXISTS (SELECT 1 FROM job WHERE model = ? AND environment = ? AND state = 'running')
        """

    /// Jobs of an environment waiting since before a time. Arguments: environment, cutoff.
    static let waitingSince = "SELECT id FROM job WHERE environment = ? AND state IN \(waitingStates) AND waitingSince <= ? ORDER BY waitingSince"

    /// The oldest wait of an environment. Argument: environment.
    static let oldestWaiting = "SELECT MIN(waitingSince) FROM job WHERE environment = ? AND state IN \(waitingStates)"

    static let unacknowledgedEmergencies = "SELECT id FROM job WHERE emergency = 1 AND acknowledgedBy IS NULL ORDER BY id"

    /// Queued rollbacks without their basis whose release is busy. Argument: release.
    static let basisMissing = """
        SELECT id FROM job WHERE release = ? AND state = 'queued' AND kind = 'rollback' AND basisRevision IS NULL ORDER BY id
        """

    static let runningReleases = "SELECT release FROM job WHERE state = 'running'"
}
