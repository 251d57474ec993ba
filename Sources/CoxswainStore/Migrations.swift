import CoxswainCore
import Foundation
import GRDB

/// The schema, as append-only named migrations. Each runs once per database, in order.
extension AppDatabase {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-jobs") { db in
            try db.execute(
                sql: """
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

                    -- Chat platforms retry; one row per request already accepted.
                    CREATE TABLE receivedRequest (
                        key TEXT PRIMARY KEY NOT NULL,
                        jobID INTEGER REFERENCES job(id),
                        receivedAt DATETIME NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-approvals") { db in
            // SQLite cannot change a CHECK constraint in place: rebuild `job` and
            // `outgoingMessage` (GRDB runs migrations with foreign key checks deferred).
            try db.execute(
                sql: """
                    CREATE TABLE newJob (
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
                        state TEXT NOT NULL CHECK (state IN ('queued','awaiting_approval','running','succeeded','failed',
                                                             'interrupted','denied','expired','cancelled')),
                        planJSON TEXT,
                        lastCompletedStep TEXT,
                        messageTS TEXT,
                        outcome TEXT,
                        createdAt DATETIME NOT NULL,
                        startedAt DATETIME,
                        finishedAt DATETIME,
                        approvalsRequired INTEGER NOT NULL DEFAULT 0 CHECK (approvalsRequired >= 0),
                        approvalRequestedAt DATETIME,
                        approvalMessageTS TEXT,
                        emergency BOOLEAN NOT NULL DEFAULT 0,
                        acknowledgedBy TEXT,
                        acknowledgedAt DATETIME,
                        lastReminderAt DATETIME,
                        cancelRequestedBy TEXT,
                        CHECK (emergency = 0 OR approvalsRequired = 0)
                    );
                    INSERT INTO newJob (id, command, release, environment, namespace, model, requestedBy, channelID, responseURL,
                                        requestedRevision, reason, state, planJSON, lastCompletedStep, messageTS, outcome,
                                        createdAt, startedAt, finishedAt)
                        SELECT id, command, release, environment, namespace, model, requestedBy, channelID, responseURL,
                               requestedRevision, reason, state, planJSON, lastCompletedStep, messageTS, outcome,
                               createdAt, startedAt, finishedAt FROM job;
                    DROP TABLE job;
                    ALTER TABLE newJob RENAME TO job;
                    CREATE INDEX job_release_state ON job(release, state);
                    CREATE INDEX job_state ON job(state);

                    CREATE TABLE newOutgoingMessage (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        jobID INTEGER REFERENCES job(id),
                        kind TEXT NOT NULL CHECK (kind IN ('post_live','update_live','thread_reply','post','ephemeral','post_approval','update_approval')),
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
                    INSERT INTO newOutgoingMessage SELECT * FROM outgoingMessage;
                    DROP TABLE outgoingMessage;
                    ALTER TABLE newOutgoingMessage RENAME TO outgoingMessage;
                    CREATE INDEX outgoingMessage_pending ON outgoingMessage(state, jobID, id);

                    -- One decision per person per plan: the same person counts once, and an
                    -- approval of one plan says nothing about another.
                    CREATE TABLE approval (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        jobID INTEGER NOT NULL REFERENCES job(id),
                        user TEXT NOT NULL,
                        decision TEXT NOT NULL CHECK (decision IN ('approve','deny')),
                        planJSON TEXT NOT NULL,
                        reason TEXT,
                        at DATETIME NOT NULL,
                        UNIQUE (jobID, user, planJSON)
                    );
                    """)
        }
        migrator.registerMigration("v3-upgrades") { db in
            try db.execute(
                sql: """
                    ALTER TABLE job ADD COLUMN requestedVersion TEXT;
                    ALTER TABLE job ADD COLUMN overridePromotion BOOLEAN NOT NULL DEFAULT 0;
                    CREATE INDEX job_release_command_state ON job(release, command, state);
                    """)
        }
        migrator.registerMigration("v4-core") { db in
            try migrateToCore(db)
        }
        migrator.registerMigration("v5-console-tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE consoleToken (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL,
                        digest TEXT NOT NULL UNIQUE,
                        createdAt DATETIME NOT NULL,
                        revokedAt DATETIME
                    );
                    CREATE INDEX consoleToken_user ON consoleToken(user);
                    """)
        }
        migrator.registerMigration("v6-watches") { db in
            // The watch itself is one JSON document (ModelWatch); the columns beside it are
            // what is searched.
            try db.execute(
                sql: """
                    CREATE TABLE watch (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        jobID INTEGER UNIQUE REFERENCES job(id),
                        release TEXT NOT NULL,
                        state TEXT NOT NULL,
                        nextCheckAt DATETIME NOT NULL,
                        body TEXT NOT NULL
                    );
                    CREATE INDEX watch_state_next ON watch(state, nextCheckAt);
                    -- Jobs that ended recently without a watch, without reading all history.
                    CREATE INDEX job_state_finished ON job(state, finishedAt);
                    """)
        }
        migrator.registerMigration("v7-hot-paths") { db in try addHotPathIndexes(db) }
        migrator.registerMigration("v8-token-expiry") { db in
            // Every console token expires: those issued before this version 90 days after they
            // were issued, as a new token does by default.
            try db.execute(
                sql: """
                    CREATE TABLE newConsoleToken (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL,
                        digest TEXT NOT NULL UNIQUE,
                        createdAt DATETIME NOT NULL,
                        expiresAt DATETIME NOT NULL CHECK (expiresAt > createdAt),
                        revokedAt DATETIME
                    );
                    INSERT INTO newConsoleToken (id, user, digest, createdAt, expiresAt, revokedAt)
                        SELECT id, user, digest, createdAt, strftime('%Y-%m-%d %H:%M:%f', createdAt, '+90 days'), revokedAt FROM consoleToken;
                    DROP TABLE consoleToken;
                    ALTER TABLE newConsoleToken RENAME TO consoleToken;
                    CREATE INDEX consoleToken_user ON consoleToken(user);
                    """)
        }
        migrator.registerMigration("v9-job-claims") { db in
            // Jobs are claimed one by one, with an expiring claim whose generation fences writes.
            try db.execute(
                sql: """
                    ALTER TABLE job ADD COLUMN claimGeneration INTEGER;
                    ALTER TABLE job ADD COLUMN claimHost TEXT;
                    ALTER TABLE job ADD COLUMN claimProcessSpace TEXT;
                    ALTER TABLE job ADD COLUMN claimPID INTEGER;
                    ALTER TABLE job ADD COLUMN claimRenewedAt DATETIME;
                    ALTER TABLE job ADD COLUMN claimExpiresAt DATETIME;
                    ALTER TABLE job ADD COLUMN handover TEXT;
                    ALTER TABLE serverLease ADD COLUMN processSpace TEXT NOT NULL DEFAULT '';
                    """)
        }
        migrator.registerMigration("v10-audit-chain") { db in try chainAuditTrail(db) }
        return migrator
    }
}
