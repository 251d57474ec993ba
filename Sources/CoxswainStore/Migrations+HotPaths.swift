import GRDB

/// `v7-hot-paths`: what the webhook, the worker and the notifier read on every request or
/// wake-up is found through an index, so its cost grows with log(history), not history.
/// `HotPathQueries` holds those queries; `QueryPlanTests` checks that none of them scans.
extension AppDatabase {
    static func addHotPathIndexes(_ db: Database) throws {
        try db.execute(
            sql: """
                -- A job's first pending notice (or one of no job) is its head: the only one that
                -- may be sent. Kept by the outbox on insert and when a head stops being pending.
                ALTER TABLE notice ADD COLUMN head BOOLEAN NOT NULL DEFAULT 0;
                UPDATE notice SET head = 1 WHERE state = 'pending' AND (jobID IS NULL OR NOT EXISTS (
                    SELECT 1 FROM notice AS e WHERE e.jobID = notice.jobID AND e.platform = notice.platform AND e.state = 'pending'
                    AND e.id < notice.id));
                CREATE INDEX notice_ready ON notice(platform, notBefore, id) WHERE state = 'pending' AND head = 1 AND sendingSince IS NULL;
                -- One entry per release with queued jobs is visited to find what can run.
                CREATE INDEX job_state_release ON job(state, release);
                CREATE INDEX job_waiting ON job(environment, waitingSince) WHERE state IN ('awaiting_approval', 'awaiting_confirmation');
                CREATE INDEX job_unacknowledged ON job(id) WHERE emergency = 1 AND acknowledgedBy IS NULL;
                CREATE INDEX job_open_rollback ON job(release)
                    WHERE kind = 'rollback' AND state IN ('queued', 'awaiting_approval', 'awaiting_confirmation', 'running');
                CREATE INDEX job_open_rollback_to ON job(release, requestedRevision)
                    WHERE kind = 'rollback' AND state IN ('queued', 'awaiting_approval', 'awaiting_confirmation', 'running');
                CREATE INDEX job_basis_missing ON job(release) WHERE state = 'queued' AND kind = 'rollback' AND basisRevision IS NULL;

                -- What planning reads about earlier jobs, one row per revision instead of every job's
                -- plan: the revision each helm rollback or upgrade created (the newest job that did),
                -- and the revisions Coxswain rolled back from. Kept by `apply`.
                CREATE TABLE createdRevision (
                    release TEXT NOT NULL, revision INTEGER NOT NULL, jobID INTEGER NOT NULL REFERENCES job(id),
                    PRIMARY KEY (release, revision)
                ) WITHOUT ROWID;
                CREATE TABLE rolledBackFrom (release TEXT NOT NULL, revision INTEGER NOT NULL, PRIMARY KEY (release, revision)) WITHOUT ROWID;
                INSERT OR REPLACE INTO createdRevision (release, revision, jobID)
                    SELECT release, json_extract(planJSON, '$.from.revision') + 1, id FROM job
                    WHERE planJSON IS NOT NULL AND EXISTS (SELECT 1 FROM jobStep WHERE jobStep.jobID = job.id
                        AND jobStep.action IN ('helm.rollback', 'helm.upgrade') AND jobStep.status IN ('succeeded', 'failed'))
                    ORDER BY id;
                INSERT OR IGNORE INTO rolledBackFrom (release, revision)
                    SELECT release, json_extract(planJSON, '$.from.revision') FROM job
                    WHERE kind = 'rollback' AND planJSON IS NOT NULL AND EXISTS (SELECT 1 FROM jobStep WHERE jobStep.jobID = job.id
                        AND jobStep.action = 'helm.rollback' AND jobStep.status = 'succeeded');
                """)
    }
}
