-- A database as the first released schema (v1-jobs, commit 5b6d9bb) wrote it: the tables as
-- that migration made them, GRDB's migration table naming v1 only, and rows as that
-- version's store wrote them (GRDB's date text, RollbackPlan JSON with sorted keys, Slack's
-- escaped text in the outbox). MigrationFixtureTests migrates it to today and reads it back.
-- Frozen: never edit it to fit later code; a later schema gets a fixture of its own.
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
INSERT INTO grdb_migrations VALUES ('v1-jobs');

CREATE TABLE job (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    release TEXT NOT NULL,
    environment TEXT NOT NULL,
    namespace TEXT NOT NULL,
    model TEXT NOT NULL,
    requestedBy TEXT NOT NULL,
    channelID TEXT NOT NULL,
    responseURL TEXT,
    requestedRevision INTEGER,
    reason TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued','running','succeeded','failed','interrupted')),
    planJSON TEXT,
    lastCompletedStep TEXT,
    messageTS TEXT,
    outcome TEXT,
    createdAt DATETIME NOT NULL,
    startedAt DATETIME,
    finishedAt DATETIME
);
CREATE INDEX job_release_state ON job(release, state);
CREATE INDEX job_state ON job(state);

CREATE TABLE jobStep (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jobID INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    action TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running','succeeded','failed','skipped')),
    note TEXT,
    detail TEXT,
    startedAt DATETIME NOT NULL,
    finishedAt DATETIME,
    UNIQUE (jobID, position)
);

CREATE TABLE auditEntry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DATETIME NOT NULL,
    jobID INTEGER REFERENCES job(id),
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX auditEntry_job ON auditEntry(jobID);

CREATE TABLE registryEntry (
    model TEXT NOT NULL,
    environment TEXT NOT NULL,
    release TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ready','disabled')),
    updatedAt DATETIME NOT NULL,
    updatedBy TEXT NOT NULL,
    PRIMARY KEY (model, environment)
);

CREATE TABLE outgoingMessage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jobID INTEGER REFERENCES job(id),
    kind TEXT NOT NULL CHECK (kind IN ('post_live','update_live','thread_reply','post','ephemeral')),
    channel TEXT,
    responseURL TEXT,
    text TEXT NOT NULL,
    blocksJSON TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending','delivered','superseded','failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    notBefore DATETIME NOT NULL,
    lastError TEXT,
    createdAt DATETIME NOT NULL,
    deliveredAt DATETIME
);
CREATE INDEX outgoingMessage_pending ON outgoingMessage(state, jobID, id);

CREATE TABLE receivedRequest (
    key TEXT PRIMARY KEY NOT NULL,
    jobID INTEGER REFERENCES job(id),
    receivedAt DATETIME NOT NULL
);

-- Job 1: a rollback from revision 5 to 3 that succeeded; job 2: queued behind nothing.
INSERT INTO job VALUES (1, '/rollback', 'llama-2-7b-production', 'production', 'production', 'llama-2-7b', 'U0123ALICE', 'C0OPS',
    'https://hooks.slack.com/commands/T1/1/abc', NULL, 'pods OOM after upgrade', 'succeeded',
    '{"from":{"app_version":"0.6.0","chart":"vllm-deployment-0.5.0","description":"Upgrade complete","revision":5,"status":"deployed","updated":"2026-11-20T10:00:00Z"},"to":{"app_version":"0.4.1","chart":"vllm-deployment-0.3.0","description":"Upgrade complete","revision":3,"status":"superseded","updated":"2026-11-18T10:00:00Z"}}',
    'Verify the deployment', '1790000000.000100', 'rolled back to revision 3', '2026-11-21 09:00:00.000', '2026-11-21 09:00:01.250',
    '2026-11-21 09:02:10.500');
INSERT INTO job VALUES (2, '/rollback', 'llama-2-7b-staging', 'staging', 'staging', 'llama-2-7b', 'U0456BOB', 'C0STAGE',
    NULL, 2, NULL, 'queued', NULL, NULL, NULL, NULL, '2026-11-21 09:05:00.000', NULL, NULL);

INSERT INTO jobStep VALUES (1, 1, 0, 'helm.history', 'Read the Helm history', 'succeeded', 'revision 5 -> 3', NULL,
    '2026-11-21 09:00:01.300', '2026-11-21 09:00:02.100');
INSERT INTO jobStep VALUES (2, 1, 1, 'registry.disable', 'Disable the model in the registry', 'succeeded', NULL, NULL,
    '2026-11-21 09:00:02.200', '2026-11-21 09:00:02.210');
INSERT INTO jobStep VALUES (3, 1, 2, 'helm.rollback', 'Roll back', 'succeeded', 'to revision 3', 'helm rollback llama-2-7b-production 3',
    '2026-11-21 09:00:02.300', '2026-11-21 09:01:40.000');
INSERT INTO jobStep VALUES (4, 1, 3, 'registry.enable', 'Re-enable the model', 'succeeded', NULL, NULL,
    '2026-11-21 09:02:00.000', '2026-11-21 09:02:00.010');

INSERT INTO auditEntry VALUES (1, '2026-11-21 09:00:00.000', 1, 'U0123ALICE', 'job.requested', '/rollback llama-2-7b-production pods OOM after upgrade');
INSERT INTO auditEntry VALUES (2, '2026-11-21 09:00:01.250', 1, 'coxswain', 'job.started', 'worker started /rollback llama-2-7b-production');
INSERT INTO auditEntry VALUES (3, '2026-11-21 09:02:10.500', 1, 'coxswain', 'job.succeeded', 'rolled back to revision 3');
INSERT INTO auditEntry VALUES (4, '2026-11-21 09:05:00.000', 2, 'U0456BOB', 'job.requested', '/rollback llama-2-7b-staging 2');
INSERT INTO auditEntry VALUES (5, '2026-11-21 09:06:00.000', NULL, 'cli:root', 'registry.disable', 'llama-2-7b in staging: bad weights, INC-1234');

INSERT INTO registryEntry VALUES ('llama-2-7b', 'production', 'llama-2-7b-production', 'http://llama-2-7b.production:8000', 'ready',
    '2026-11-21 09:02:00.010', 'coxswain');
INSERT INTO registryEntry VALUES ('llama-2-7b', 'staging', 'llama-2-7b-staging', 'http://llama-2-7b.staging:8000', 'disabled',
    '2026-11-21 09:06:00.000', 'cli:root');

-- Delivered and superseded messages stay behind; pending ones become notices.
INSERT INTO outgoingMessage VALUES (1, 1, 'post_live', 'C0OPS', NULL, 'Job #1 rolling back', NULL, 'delivered', 1,
    '2026-11-21 09:00:00.000', NULL, '2026-11-21 09:00:00.000', '2026-11-21 09:00:00.400');
INSERT INTO outgoingMessage VALUES (2, 1, 'update_live', 'C0OPS', NULL, 'Job #1 step 2', NULL, 'superseded', 0,
    '2026-11-21 09:00:02.200', NULL, '2026-11-21 09:00:02.200', NULL);
INSERT INTO outgoingMessage VALUES (3, 1, 'thread_reply', 'C0OPS', NULL, 'helm said: &lt;none&gt; &amp; revision 3 is &lt;deployed&gt;', NULL,
    'pending', 2, '2026-11-21 09:02:11.000', 'HTTP 503', '2026-11-21 09:02:10.500', NULL);
INSERT INTO outgoingMessage VALUES (4, 1, 'ephemeral', NULL, 'https://hooks.slack.com/commands/T1/1/abc', 'Job #1 plan: revision 5 -&gt; 3',
    NULL, 'pending', 0, '2026-11-21 09:00:02.100', NULL, '2026-11-21 09:00:02.100', NULL);
INSERT INTO outgoingMessage VALUES (5, 1, 'post', 'C0OPS', NULL, 'llama-2-7b-production is back on revision 3', NULL, 'pending', 0,
    '2026-11-21 09:02:10.500', NULL, '2026-11-21 09:02:10.500', NULL);
INSERT INTO outgoingMessage VALUES (6, NULL, 'post', 'C0AUDIT', NULL, 'registry: llama-2-7b disabled in staging by cli:root', NULL, 'pending', 0,
    '2026-11-21 09:06:00.000', NULL, '2026-11-21 09:06:00.000', NULL);
INSERT INTO outgoingMessage VALUES (7, 2, 'post_live', 'C0STAGE', NULL, '', NULL, 'pending', 0,
    '2026-11-21 09:05:00.000', NULL, '2026-11-21 09:05:00.000', NULL);

INSERT INTO receivedRequest VALUES ('trigger:1790000000.1', 1, '2026-11-21 09:00:00.000');
INSERT INTO receivedRequest VALUES ('trigger:1790000300.2', 2, '2026-11-21 09:05:00.000');
INSERT INTO sqlite_sequence VALUES ('job', 2), ('jobStep', 4), ('auditEntry', 5), ('outgoingMessage', 7);
