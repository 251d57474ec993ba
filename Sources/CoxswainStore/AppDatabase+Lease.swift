import CoxswainCore
import Foundation
import GRDB

/// One server runs jobs on a database at a time: it holds a lease and renews it; another
/// server waits until the lease is released or has expired.
extension AppDatabase: LeaseStore {
    public func acquire(_ lease: Lease, now: Date, replacing gone: String?) async throws -> Lease {
        try await write("take the server lease") { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM serverLease WHERE id = 1") {
                let holder: String = row["holder"]
                let expiresAt = (row["expiresAt"] as Date)
                if holder != lease.holder && holder != gone && expiresAt > now {
                    return Lease(holder: holder, host: row["host"], pid: row["pid"], processSpace: row["processSpace"], expiresAt: expiresAt)
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO serverLease (id, holder, host, pid, processSpace, acquiredAt, expiresAt) VALUES (1, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid,
                    processSpace = excluded.processSpace,
                    acquiredAt = CASE WHEN serverLease.holder = excluded.holder THEN serverLease.acquiredAt ELSE excluded.acquiredAt END,
                    expiresAt = excluded.expiresAt
                    """, arguments: [lease.holder, lease.host, lease.pid, lease.processSpace, now, lease.expiresAt])
            return lease
        }
    }

    public func release(holder: String) async throws {
        try await write("release the server lease") { db in
            try db.execute(sql: "DELETE FROM serverLease WHERE id = 1 AND holder = ?", arguments: [holder])
        }
    }

    public func currentLease() async throws -> Lease? {
        try await read("read the server lease") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM serverLease WHERE id = 1").map {
                Lease(holder: $0["holder"], host: $0["host"], pid: $0["pid"], processSpace: $0["processSpace"], expiresAt: ($0["expiresAt"] as Date))
            }
        }
    }
}
