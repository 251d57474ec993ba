import CoxswainAudit

/// Migration v3: the audit trail as a hash chain (`AuditChain`), computed by PostgreSQL itself
/// so that every way an entry is written (the intake's multi-row statement included) is chained.
/// The trigger takes the chain's head row for update: each transaction that writes audit
/// entries holds it until it commits, so every replica's entries form one order. Entries
/// written before are chained in id order; the trail then refuses UPDATE, DELETE and TRUNCATE.
extension PostgresSchema {
    /// The domain tag as SQL bytes: `AuditChain.domainTag` ends in a line feed.
    private static var tag: String { "convert_to('\(AuditChain.domainTag.dropLast())' || chr(10), 'UTF8')" }

    /// The hash of the entry in the record `entry` at `place`, chained from `previous`: the same
    /// bytes as `AuditChain.hash` (fixed-width big-endian integers, length-prefixed UTF-8).
    private static func hash(entry: String, place: String, previous: String) -> String {
        func text(_ column: String) -> String {
            "int4send(octet_length(convert_to(\(entry).\(column), 'UTF8'))) || convert_to(\(entry).\(column), 'UTF8')"
        }
        return """
            encode(sha256(\(tag) || int8send(\(place)) || int8send((extract(epoch FROM \(entry).at) * 1000)::BIGINT)
                || CASE WHEN \(entry).jobID IS NULL THEN '\\x00'::BYTEA ELSE '\\x01'::BYTEA || int8send(\(entry).jobID) END
                || \(text("actor")) || \(text("event")) || \(text("detail")) || decode(\(previous), 'hex')), 'hex')
            """
    }

    static let auditChain: [String] = [
        "ALTER TABLE auditEntry ADD COLUMN seq BIGINT, ADD COLUMN hash TEXT",
        """
        CREATE TABLE auditChainHead (
            single BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (single),
            seq BIGINT NOT NULL,
            hash TEXT NOT NULL
        )
        """,
        """
        DO $$
        DECLARE
            entry RECORD;
            place BIGINT := 0;
            chained TEXT := '\(AuditChain.genesis)';
        BEGIN
            FOR entry IN SELECT * FROM auditEntry ORDER BY id LOOP
                place := place + 1;
                chained := \(hash(entry: "entry", place: "place", previous: "chained"));
                UPDATE auditEntry SET seq = place, hash = chained WHERE id = entry.id;
            END LOOP;
            INSERT INTO auditChainHead (seq, hash) VALUES (place, chained);
        END
        $$
        """,
        "ALTER TABLE auditEntry ALTER COLUMN seq SET NOT NULL, ALTER COLUMN hash SET NOT NULL",
        "CREATE UNIQUE INDEX auditEntry_seq ON auditEntry (seq)",
        // Each row is chained from the transaction's running head, kept in a transaction-local
        // setting: the head row is locked (and read) by the transaction's first entry and written
        // once per statement, not once per row (the webhook benchmark, Benchmarks/README.md: the
        // head updated per row, 1,385 req/s; per statement, 1,655; no chain, 1,756). A copied entry
        // (`coxswain migrate --to`) brings its place and hash: they must be the ones computed here.
        """
        CREATE FUNCTION coxswain_audit_chain() RETURNS TRIGGER LANGUAGE plpgsql AS $$
        DECLARE
            running TEXT := current_setting('coxswain.audit_head', true);
            place BIGINT;
            chained TEXT;
        BEGIN
            IF running IS NULL OR running = '' THEN
                SELECT seq, hash INTO place, chained FROM auditChainHead FOR UPDATE;
            ELSE
                place := split_part(running, ' ', 1)::BIGINT;
                chained := split_part(running, ' ', 2);
            END IF;
            place := place + 1;
            chained := \(hash(entry: "NEW", place: "place", previous: "chained"));
            IF NEW.hash IS NOT NULL AND (NEW.hash <> chained OR NEW.seq <> place) THEN
                RAISE EXCEPTION 'audit entry % does not extend the chain (expected entry % with hash %): the copied trail does not verify',
                    NEW.seq, place, chained;
            END IF;
            PERFORM set_config('coxswain.audit_head', place || ' ' || chained, true);
            NEW.seq := place;
            NEW.hash := chained;
            RETURN NEW;
        END
        $$
        """,
        """
        CREATE FUNCTION coxswain_audit_head() RETURNS TRIGGER LANGUAGE plpgsql AS $$
        DECLARE
            running TEXT := current_setting('coxswain.audit_head', true);
        BEGIN
            IF running IS NOT NULL AND running <> '' THEN
                UPDATE auditChainHead SET seq = split_part(running, ' ', 1)::BIGINT, hash = split_part(running, ' ', 2);
            END IF;
            RETURN NULL;
        END
        $$
        """,
        "CREATE TRIGGER auditEntry_head AFTER INSERT ON auditEntry FOR EACH STATEMENT EXECUTE FUNCTION coxswain_audit_head()",
        "CREATE TRIGGER auditEntry_chain BEFORE INSERT ON auditEntry FOR EACH ROW EXECUTE FUNCTION coxswain_audit_chain()",
        """
        CREATE FUNCTION coxswain_audit_append_only() RETURNS TRIGGER LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
        END
        $$
        """,
        "CREATE TRIGGER auditEntry_appendOnly BEFORE UPDATE OR DELETE ON auditEntry FOR EACH ROW EXECUTE FUNCTION coxswain_audit_append_only()",
        "CREATE TRIGGER auditEntry_noTruncate BEFORE TRUNCATE ON auditEntry FOR EACH STATEMENT EXECUTE FUNCTION coxswain_audit_append_only()",
        """
        CREATE TABLE auditCheckpoint (
            seq BIGINT PRIMARY KEY,
            line TEXT NOT NULL,
            previous TEXT NOT NULL UNIQUE,
            at TIMESTAMPTZ NOT NULL
        )
        """,
    ]
}
