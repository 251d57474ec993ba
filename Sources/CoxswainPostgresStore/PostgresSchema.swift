import CoxswainCore
import Foundation
import PostgresNIO

/// The schema, as append-only named migrations, each a list of statements run in one
/// transaction. Replicas starting together migrate one at a time: the first takes an
/// advisory lock, the others wait for it and then find nothing left to do.
///
/// `v1` is the SQLite schema as of its `v8` (the PostgreSQL store started there), with
/// PostgreSQL's types: `timestamptz` to the millisecond, `boolean`, `bigserial`; `user` is a
/// reserved word here, so those columns are `username`.
enum PostgresSchema {
    /// The advisory lock key migrations hold (an arbitrary constant, "coxswain" in ASCII).
    static let migrationLock: Int64 = 0x636F_7873_7761_696E

    static let migrations: [(id: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE job (
                    id BIGSERIAL PRIMARY KEY,
                    version INTEGER NOT NULL DEFAULT 0,
                    kind TEXT NOT NULL CHECK (kind IN ('rollback', 'upgrade')),
                    command TEXT NOT NULL,
                    release TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    namespace TEXT NOT NULL,
                    model TEXT NOT NULL,
                    requestedBy TEXT NOT NULL,
                    channelID TEXT NOT NULL,
                    platform TEXT NOT NULL,
                    requestedRevision INTEGER,
                    requestedVersion TEXT,
                    reason TEXT,
                    emergency BOOLEAN NOT NULL DEFAULT FALSE,
                    overridePromotion BOOLEAN NOT NULL DEFAULT FALSE,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'awaiting_approval', 'awaiting_confirmation', 'running', 'succeeded', 'failed',
                                                         'interrupted', 'denied', 'expired', 'cancelled', 'superseded')),
                    planJSON TEXT,
                    basisRevision INTEGER,
                    approvalsRequired INTEGER NOT NULL DEFAULT 0 CHECK (approvalsRequired >= 0),
                    approvalRound INTEGER NOT NULL DEFAULT 0,
                    lastCompletedStep TEXT,
                    outcome TEXT,
                    createdAt TIMESTAMPTZ NOT NULL,
                    startedAt TIMESTAMPTZ,
                    finishedAt TIMESTAMPTZ,
                    waitingSince TIMESTAMPTZ,
                    cancelRequestedBy TEXT,
                    acknowledgedBy TEXT,
                    acknowledgedAt TIMESTAMPTZ,
                    lastReminderAt TIMESTAMPTZ,
                    runnerID TEXT,
                    CHECK (NOT emergency OR approvalsRequired = 0)
                )
                """,
                // One helm operation per release and one registry writer per model and
                // environment, whatever the code above the database gets wrong.
                "CREATE UNIQUE INDEX job_one_running_per_release ON job (release) WHERE state = 'running'",
                "CREATE UNIQUE INDEX job_one_running_per_model ON job (model, environment) WHERE state = 'running'",
                "CREATE INDEX job_state_release ON job (state, release, id)",
                "CREATE INDEX job_release ON job (release, id)",
                "CREATE INDEX job_state_finished ON job (state, finishedAt)",
                "CREATE INDEX job_waiting ON job (environment, waitingSince) WHERE state IN ('awaiting_approval', 'awaiting_confirmation')",
                "CREATE INDEX job_unacknowledged ON job (id) WHERE emergency AND acknowledgedBy IS NULL",
                """
                CREATE INDEX job_open_rollback ON job (release, requestedRevision, id)
                    WHERE kind = 'rollback' AND state IN ('queued', 'awaiting_approval', 'awaiting_confirmation', 'running')
                """,
                """
                CREATE TABLE jobStep (
                    id BIGSERIAL PRIMARY KEY,
                    jobID BIGINT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
                    position INTEGER NOT NULL CHECK (position >= 0),
                    action TEXT NOT NULL,
                    title TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
                    note TEXT,
                    detail TEXT,
                    startedAt TIMESTAMPTZ NOT NULL,
                    finishedAt TIMESTAMPTZ,
                    UNIQUE (jobID, position)
                )
                """,
                """
                CREATE TABLE approval (
                    id BIGSERIAL PRIMARY KEY,
                    jobID BIGINT NOT NULL REFERENCES job (id),
                    username TEXT NOT NULL,
                    decision TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),
                    planJSON TEXT NOT NULL,
                    reason TEXT,
                    at TIMESTAMPTZ NOT NULL,
                    UNIQUE (jobID, username, planJSON)
                )
                """,
                """
                CREATE TABLE jobFollower (
                    jobID BIGINT NOT NULL REFERENCES job (id),
                    username TEXT NOT NULL,
                    at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (jobID, username)
                )
                """,
                """
                CREATE TABLE auditEntry (
                    id BIGSERIAL PRIMARY KEY,
                    at TIMESTAMPTZ NOT NULL,
                    jobID BIGINT REFERENCES job (id),
                    actor TEXT NOT NULL,
                    event TEXT NOT NULL,
                    detail TEXT NOT NULL
                )
                """,
                "CREATE INDEX auditEntry_job ON auditEntry (jobID)",
                """
                CREATE TABLE registryEntry (
                    model TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    release TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('ready', 'disabled')),
                    updatedAt TIMESTAMPTZ NOT NULL,
                    updatedBy TEXT NOT NULL,
                    PRIMARY KEY (model, environment)
                )
                """,
                // Chat platforms retry; one row per request already accepted.
                """
                CREATE TABLE receivedRequest (
                    id BIGSERIAL PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,
                    jobID BIGINT REFERENCES job (id),
                    receivedAt TIMESTAMPTZ NOT NULL
                )
                """,
                """
                CREATE TABLE messageRef (
                    jobID BIGINT NOT NULL REFERENCES job (id),
                    platform TEXT NOT NULL,
                    role TEXT NOT NULL,
                    channel TEXT,
                    ts TEXT,
                    url TEXT,
                    PRIMARY KEY (jobID, platform, role)
                )
                """,
                // A job's first pending notice (or one of no job) is its head: the only one
                // that may be sent, so a job's messages arrive in order.
                """
                CREATE TABLE notice (
                    id BIGSERIAL PRIMARY KEY,
                    jobID BIGINT REFERENCES job (id),
                    platform TEXT NOT NULL,
                    place TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    route TEXT,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'superseded', 'failed')),
                    head BOOLEAN NOT NULL DEFAULT FALSE,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    notBefore TIMESTAMPTZ NOT NULL,
                    sendingSince TIMESTAMPTZ,
                    lastError TEXT,
                    createdAt TIMESTAMPTZ NOT NULL,
                    deliveredAt TIMESTAMPTZ
                )
                """,
                "CREATE INDEX notice_ready ON notice (platform, notBefore, id) WHERE state = 'pending' AND head AND sendingSince IS NULL",
                "CREATE INDEX notice_job ON notice (jobID, platform, state, id)",
                """
                CREATE TABLE serverLease (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    holder TEXT NOT NULL,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    acquiredAt TIMESTAMPTZ NOT NULL,
                    expiresAt TIMESTAMPTZ NOT NULL
                )
                """,
                """
                CREATE TABLE consoleToken (
                    id BIGSERIAL PRIMARY KEY,
                    username TEXT NOT NULL,
                    digest TEXT NOT NULL UNIQUE,
                    createdAt TIMESTAMPTZ NOT NULL,
                    expiresAt TIMESTAMPTZ NOT NULL CHECK (expiresAt > createdAt),
                    revokedAt TIMESTAMPTZ
                )
                """,
                "CREATE INDEX consoleToken_user ON consoleToken (username)",
                // The watch itself is one JSON document (ModelWatch); the columns beside it are what is searched.
                """
                CREATE TABLE watch (
                    id BIGSERIAL PRIMARY KEY,
                    jobID BIGINT UNIQUE REFERENCES job (id),
                    release TEXT NOT NULL,
                    state TEXT NOT NULL,
                    nextCheckAt TIMESTAMPTZ NOT NULL,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX watch_state_next ON watch (state, nextCheckAt)",
                // What planning reads about earlier jobs, one row per revision.
                """
                CREATE TABLE createdRevision (
                    release TEXT NOT NULL, revision INTEGER NOT NULL, jobID BIGINT NOT NULL REFERENCES job (id), PRIMARY KEY (release, revision)
                )
                """,
                "CREATE TABLE rolledBackFrom (release TEXT NOT NULL, revision INTEGER NOT NULL, PRIMARY KEY (release, revision))",
            ]
        ),
        // Jobs are claimed one by one, with an expiring claim whose generation fences writes (SQLite's v9).
        (
            "v2",
            [
                """
                ALTER TABLE job ADD COLUMN claimGeneration INTEGER, ADD COLUMN claimHost TEXT, ADD COLUMN claimProcessSpace TEXT,
                    ADD COLUMN claimPID INTEGER, ADD COLUMN claimRenewedAt TIMESTAMPTZ, ADD COLUMN claimExpiresAt TIMESTAMPTZ, ADD COLUMN handover TEXT
                """,
                "ALTER TABLE serverLease ADD COLUMN processSpace TEXT NOT NULL DEFAULT ''",
            ]
        ),
        ("v3", auditChain),
        // A table is first analysed after 1,000 changed rows instead of PostgreSQL's 50. Some
        // plans are kept (a prepared statement's, a foreign-key check's), made on the statistics
        // of the moment: analysed while nearly empty (a new database's first busy minute), the
        // checks of job ids and the lookup of request keys were planned as table scans and
        // stayed so as the tables grew, a third of the webhook's throughput (Benchmarks/README.md,
        // "The webhook on PostgreSQL", step 11). Below about 300 rows a scan is the cheaper plan
        // anyway; from 1,000 on, the index probe.
        (
            "v4",
            [
                "ALTER TABLE job SET (autovacuum_analyze_threshold = 1000)",
                "ALTER TABLE receivedRequest SET (autovacuum_analyze_threshold = 1000)",
            ]
        ),
    ]
}

extension PostgresStore {
    /// Applies the migrations this database lacks, refusing one written by a newer Coxswain.
    func migrate() async throws {
        let operation = "migrate the database"
        do {
            try await connections.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(\(PostgresSchema.migrationLock))", logger: PostgresConnection.quiet)
                do {
                    try await self.applyMigrations(connection)
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: PostgresConnection.quiet)
                    throw error
                }
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: PostgresConnection.quiet)
            }
        } catch let failure as StoreFailure {
            throw failure
        } catch {
            throw StoreFailure(postgres: error, location: location, operation: operation)
        }
    }

    /// For reading only: the database must be of exactly this version.
    func checkSchema() async throws {
        let applied = try await read("open the database for reading") { db -> [String] in
            guard try await db.one("SELECT to_regclass('coxswainmigration') IS NOT NULL", Bool.self) == true else { return [] }
            return try await db.all("SELECT id FROM coxswainMigration", String.self)
        }
        let known = PostgresSchema.migrations.map(\.id)
        if let unknown = Set(applied).subtracting(known).sorted().first {
            throw StoreFailure(
                kind: .unusable, location: location, operation: "open the database for reading",
                detail: "it was written by a newer Coxswain (migration \(unknown)); use that version")
        }
        guard Set(known).isSubset(of: applied) else {
            throw StoreFailure(
                kind: .unusable, location: location, operation: "open the database for reading",
                detail: applied.isEmpty
                    ? "it has no Coxswain tables; `coxswain migrate --config FILE` creates them"
                    : "it is of an older version; run `coxswain migrate --config FILE` first")
        }
    }

    private func applyMigrations(_ connection: PostgresConnection) async throws {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS coxswainMigration (id TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL DEFAULT now())",
            logger: PostgresConnection.quiet)
        let applied = Set(try await connection.all("SELECT id FROM coxswainMigration", String.self))
        let known = Set(PostgresSchema.migrations.map(\.id))
        if let unknown = applied.subtracting(known).sorted().first {
            throw StoreFailure(
                kind: .unusable, location: location, operation: "migrate the database",
                detail: "it was written by a newer Coxswain (migration \(unknown)); use that version")
        }
        for migration in PostgresSchema.migrations where !applied.contains(migration.id) {
            try await connection.query("BEGIN", logger: PostgresConnection.quiet)
            do {
                for statement in migration.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: PostgresConnection.quiet) }
                try await connection.query("INSERT INTO coxswainMigration (id) VALUES (\(migration.id))", logger: PostgresConnection.quiet)
                try await connection.query("COMMIT", logger: PostgresConnection.quiet)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: PostgresConnection.quiet)
                throw error
            }
            logger.notice("database \(location): migration \(migration.id) applied")
        }
    }
}
