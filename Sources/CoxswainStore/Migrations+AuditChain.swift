import CoxswainAudit
import CoxswainCore
import Foundation
import GRDB

/// `v10-audit-chain`: every audit entry gets its place in the chain and its hash (entries
/// written before this version are chained in the order they were written), the trail becomes
/// append-only, and signed checkpoints get a table.
extension AppDatabase {
    static func chainAuditTrail(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE auditEntry ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE auditEntry ADD COLUMN hash TEXT NOT NULL DEFAULT '';
                """)
        var head = AuditHead(seq: 0, hash: AuditChain.genesis)
        let rows = try Row.fetchCursor(db, sql: "SELECT id, at, jobID, actor, event, detail FROM auditEntry ORDER BY id")
        var chained: [(id: Int64, seq: Int64, hash: String)] = []
        while let row = try rows.next() {
            let at: Date = row["at"]
            let seq = head.seq + 1
            let hash = AuditChain.hash(
                seq: seq, atMilliseconds: AuditChain.milliseconds(at), jobID: row["jobID"], actor: row["actor"], event: row["event"],
                detail: row["detail"], previous: head.hash)
            chained.append((row["id"], seq, hash))
            head = AuditHead(seq: seq, hash: hash)
        }
        let update = try db.makeStatement(sql: "UPDATE auditEntry SET seq = ?, hash = ? WHERE id = ?")
        for entry in chained { try update.execute(arguments: [entry.seq, entry.hash, entry.id]) }
        try db.execute(
            sql: """
                CREATE UNIQUE INDEX auditEntry_seq ON auditEntry(seq);
                CREATE TRIGGER auditEntry_appendOnly_update BEFORE UPDATE ON auditEntry
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: an entry cannot be changed'); END;
                CREATE TRIGGER auditEntry_appendOnly_delete BEFORE DELETE ON auditEntry
                    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: an entry cannot be deleted'); END;
                CREATE TABLE auditCheckpoint (
                    seq INTEGER PRIMARY KEY,
                    line TEXT NOT NULL,
                    previous TEXT NOT NULL UNIQUE,
                    at DATETIME NOT NULL
                );
                """)
    }
}
