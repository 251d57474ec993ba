import CoxswainCore
import Foundation
import GRDB

/// `v4-core`: the job as the domain sees it (kind, version, basis revision, approval round,
/// runner), platform message references in their own table, followers, an outbox of
/// platform-neutral notices instead of Slack messages, the server lease, and indexes that
/// let the database itself refuse a second running job for a release or a model.
extension AppDatabase {
    static func migrateToCore(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE newJob (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    version INTEGER NOT NULL DEFAULT 0,
                    kind TEXT NOT NULL CHECK (kind IN ('rollback','upgrade')),
                    command TEXT NOT NULL,
                    release TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    namespace TEXT NOT NULL,
                    model TEXT NOT NULL,
                    requestedBy TEXT NOT NULL,
                    channelID TEXT NOT NULL,
                    platform TEXT NOT NULL DEFAULT 'slack',
                    requestedRevision INTEGER,
                    requestedVersion TEXT,
                    reason TEXT,
                    emergency BOOLEAN NOT NULL DEFAULT 0,
                    overridePromotion BOOLEAN NOT NULL DEFAULT 0,
                    state TEXT NOT NULL CHECK (state IN ('queued','awaiting_approval','awaiting_confirmation','running','succeeded','failed',
                                                         'interrupted','denied','expired','cancelled','superseded')),
                    planJSON TEXT,
                    basisRevision INTEGER,
                    approvalsRequired INTEGER NOT NULL DEFAULT 0 CHECK (approvalsRequired >= 0),
                    approvalRound INTEGER NOT NULL DEFAULT 0,
                    lastCompletedStep TEXT,
                    outcome TEXT,
                    createdAt DATETIME NOT NULL,
                    startedAt DATETIME,
                    finishedAt DATETIME,
                    waitingSince DATETIME,
                    cancelRequestedBy TEXT,
                    acknowledgedBy TEXT,
                    acknowledgedAt DATETIME,
                    lastReminderAt DATETIME,
                    runnerID TEXT,
                    CHECK (emergency = 0 OR approvalsRequired = 0)
                );
                INSERT INTO newJob (id, kind, command, release, environment, namespace, model, requestedBy, channelID, requestedRevision,
                                    requestedVersion, reason, emergency, overridePromotion, state, planJSON, approvalsRequired, approvalRound,
                                    lastCompletedStep, outcome, createdAt, startedAt, finishedAt, waitingSince, cancelRequestedBy,
                                    acknowledgedBy, acknowledgedAt, lastReminderAt)
                    SELECT id, CASE command WHEN '/upgrade' THEN 'upgrade' ELSE 'rollback' END, command, release, environment, namespace, model,
                           requestedBy, channelID, requestedRevision, requestedVersion, reason, emergency, overridePromotion, state, planJSON,
                           approvalsRequired, CASE WHEN approvalRequestedAt IS NULL THEN 0 ELSE 1 END, lastCompletedStep, outcome, createdAt,
                           startedAt, finishedAt, approvalRequestedAt, cancelRequestedBy, acknowledgedBy, acknowledgedAt, lastReminderAt
                    FROM job;

                CREATE TABLE messageRef (
                    jobID INTEGER NOT NULL REFERENCES job(id),
                    platform TEXT NOT NULL,
                    role TEXT NOT NULL,
                    channel TEXT,
                    ts TEXT,
                    url TEXT,
                    PRIMARY KEY (jobID, platform, role)
                );
                INSERT INTO messageRef SELECT id, 'slack', 'live', channelID, messageTS, NULL FROM job WHERE messageTS IS NOT NULL;
                INSERT INTO messageRef SELECT id, 'slack', 'approval:1', channelID, approvalMessageTS, NULL FROM job WHERE approvalMessageTS IS NOT NULL;
                INSERT INTO messageRef SELECT id, 'slack', 'person:' || requestedBy, NULL, NULL, responseURL FROM job WHERE responseURL IS NOT NULL;

                DROP TABLE job;
                ALTER TABLE newJob RENAME TO job;
                CREATE INDEX job_state ON job(state);
                CREATE INDEX job_release_state ON job(release, state);
                CREATE INDEX job_release_command_state ON job(release, command, state);
                -- One helm operation per release and one registry writer per model and environment,
                -- whatever the code above the database gets wrong.
                CREATE UNIQUE INDEX job_one_running_per_release ON job(release) WHERE state = 'running';
                CREATE UNIQUE INDEX job_one_running_per_model ON job(model, environment) WHERE state = 'running';

                CREATE TABLE jobFollower (
                    jobID INTEGER NOT NULL REFERENCES job(id),
                    user TEXT NOT NULL,
                    at DATETIME NOT NULL,
                    PRIMARY KEY (jobID, user)
                );

                CREATE TABLE notice (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    jobID INTEGER REFERENCES job(id),
                    platform TEXT NOT NULL,
                    place TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    route TEXT,
                    state TEXT NOT NULL CHECK (state IN ('pending','delivered','superseded','failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    notBefore DATETIME NOT NULL,
                    sendingSince DATETIME,
                    lastError TEXT,
                    createdAt DATETIME NOT NULL,
                    deliveredAt DATETIME
                );
                CREATE INDEX notice_due ON notice(platform, state, notBefore);
                CREATE INDEX notice_job ON notice(jobID, platform, state, id);

                CREATE TABLE serverLease (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    holder TEXT NOT NULL,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    acquiredAt DATETIME NOT NULL,
                    expiresAt DATETIME NOT NULL
                );
                """)
        try convertPendingMessages(db)
        try db.execute(sql: "DROP TABLE outgoingMessage")
    }

    /// Messages the old outbox had not delivered yet become notices with their text, so an
    /// upgrade loses none of them (their Block Kit layout is not kept). Frozen as SQL: the
    /// JSON is the `Notice` of this version (a message of one plain segment, no actions),
    /// spelt out here so that later changes to `Notice` cannot change what an old database
    /// migrates to; the old outbox stored Slack's escaped text, unescaped here.
    private static func convertPendingMessages(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO notice (jobID, platform, place, payload, route, state, attempts, notBefore, createdAt)
                SELECT jobID, 'slack', placeKey,
                       json_object(
                           'body', json_object('message', json_object(
                               '_0', json_object('segments', CASE WHEN plain = '' THEN json_array()
                                                                  ELSE json_array(json_object('plain', json_object('_0', plain))) END),
                               'actions', json_array())),
                           'jobID', jobID,
                           'place', json(placeJSON)),
                       responseURL, 'pending', 0, notBefore, createdAt
                FROM (
                    SELECT m.id, m.jobID, m.responseURL, m.notBefore, m.createdAt,
                           replace(replace(replace(m.text, '&lt;', '<'), '&gt;', '>'), '&amp;', '&') AS plain,
                           CASE
                               WHEN m.kind IN ('post_live', 'update_live') THEN 'live'
                               WHEN m.kind = 'thread_reply' THEN 'thread'
                               WHEN m.kind IN ('post_approval', 'update_approval') THEN 'approval:1'
                               WHEN m.kind = 'ephemeral' THEN 'person:' || coalesce(j.requestedBy, '')
                               WHEN m.jobID IS NOT NULL AND m.channel IS j.channelID THEN 'job-channel'
                               ELSE 'channel:' || coalesce(m.channel, '')
                           END AS placeKey,
                           CASE
                               WHEN m.kind IN ('post_live', 'update_live') THEN '{"live":{}}'
                               WHEN m.kind = 'thread_reply' THEN '{"thread":{}}'
                               WHEN m.kind IN ('post_approval', 'update_approval') THEN '{"approval":{"round":1}}'
                               WHEN m.kind = 'ephemeral' THEN json_object('person', json_object('_0', coalesce(j.requestedBy, '')))
                               WHEN m.jobID IS NOT NULL AND m.channel IS j.channelID THEN '{"jobChannel":{}}'
                               ELSE json_object('channel', json_object('_0', coalesce(m.channel, '')))
                           END AS placeJSON
                    FROM outgoingMessage m LEFT JOIN job j ON j.id = m.jobID
                    WHERE m.state = 'pending'
                )
                ORDER BY id
                """)
    }
}
