import CoxswainCore
import Foundation
import PostgresNIO

extension PostgresStore: RegistryStore {
    public func seed(_ releases: [CoxswainConfiguration.Release], now: Date) async throws {
        try await write("seed the registry") { db in
            for release in releases {
                try await db.run(
                    """
                    INSERT INTO registryEntry (model, environment, release, endpoint, status, updatedAt, updatedBy)
                    VALUES (\(release.model), \(release.environment), \(release.name), \(release.endpoint.absoluteString), 'ready', \(Stamp(now)),
                            'configuration')
                    ON CONFLICT (model, environment) DO UPDATE SET release = excluded.release, endpoint = excluded.endpoint
                    """)
            }
        }
    }

    @discardableResult
    public func setStatus(model: String, environment: String, status: RegistryStatus, actor: String, reason: String, now: Date) async throws -> RegistryEntry {
        try await write("set \(model) \(status.rawValue) in \(environment)") { db in
            let update = RegistryUpdate(model: model, environment: environment, status: status, reason: reason)
            return try await Self.setRegistry(update, actor: actor, jobID: nil, now: now, db)
        }
    }

    public func entries(environment: String?) async throws -> [RegistryEntry] {
        try await read("read the registry") { db in
            let rows =
                if let environment { try await db.rows("SELECT * FROM registryEntry WHERE environment = \(environment) ORDER BY model") } else {
                    try await db.rows("SELECT * FROM registryEntry ORDER BY environment, model")
                }
            return try rows.map(Self.registryEntry)
        }
    }

    public func entry(model: String, environment: String) async throws -> RegistryEntry? {
        try await read("read the registry") { db in
            try await db.rows("SELECT * FROM registryEntry WHERE model = \(model) AND environment = \(environment)").first.map(Self.registryEntry)
        }
    }
}

/// One server runs jobs on a database at a time: it holds a lease and renews it.
extension PostgresStore: LeaseStore {
    public func acquire(_ lease: Lease, now: Date, replacing gone: String?) async throws -> Lease {
        try await write("take the server lease") { db in
            if let row = try await db.rows("SELECT * FROM serverLease WHERE id = 1 FOR UPDATE").first {
                let holder: String = try row("holder")
                let expiresAt = try row.date("expiresAt")
                if holder != lease.holder && holder != gone && expiresAt > now {
                    return Lease(holder: holder, host: try row("host"), pid: try row("pid"), processSpace: try row("processSpace"), expiresAt: expiresAt)
                }
            }
            try await db.run(
                """
                INSERT INTO serverLease (id, holder, host, pid, processSpace, acquiredAt, expiresAt)
                VALUES (1, \(lease.holder), \(lease.host), \(lease.pid), \(lease.processSpace), \(Stamp(now)), \(Stamp(lease.expiresAt)))
                ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, processSpace = excluded.processSpace,
                acquiredAt = CASE WHEN serverLease.holder = excluded.holder THEN serverLease.acquiredAt ELSE excluded.acquiredAt END,
                expiresAt = excluded.expiresAt
                """)
            return lease
        }
    }

    public func release(holder: String) async throws {
        _ = try await write("release the server lease") { db in try await db.run("DELETE FROM serverLease WHERE id = 1 AND holder = \(holder)") }
    }

    public func currentLease() async throws -> Lease? {
        try await read("read the server lease") { db in
            try await db.rows("SELECT * FROM serverLease WHERE id = 1").first.map {
                Lease(
                    holder: try $0("holder"), host: try $0("host"), pid: try $0("pid"), processSpace: try $0("processSpace"),
                    expiresAt: try $0.date("expiresAt"))
            }
        }
    }

}

extension PostgresStore: ConsoleTokenStore {
    public func saveToken(user: String, digest: String, expiresAt: Date, issuedBy: String, now: Date) async throws -> Int64 {
        try await write("save a console token for \(user)") { db in
            guard
                let id = try await db.one(
                    """
                    INSERT INTO consoleToken (username, digest, createdAt, expiresAt) VALUES (\(user), \(digest), \(Stamp(now)), \(Stamp(expiresAt)))
                    RETURNING id
                    """, Int64.self)
            else { throw StoreFailure(kind: .other, location: self.location, operation: "save a console token", detail: "no id came back") }
            let detail = "console token \(id) for \(user), expires \(expiresAt)"
            try await Self.insertAudit([AuditDraft(actor: issuedBy, event: "console.token_issued", detail: detail)], jobID: nil, now: now, db)
            return id
        }
    }

    public func tokenDigests(user: String, now: Date) async throws -> [String] {
        try await read("read console tokens") { db in
            try await db.all(
                "SELECT digest FROM consoleToken WHERE username = \(user) AND revokedAt IS NULL AND expiresAt > \(Stamp(now))", String.self)
        }
    }

    public func consoleTokens(user: String?) async throws -> [ConsoleToken] {
        try await read("list console tokens") { db in
            let rows =
                if let user { try await db.rows("SELECT * FROM consoleToken WHERE username = \(user) ORDER BY id DESC") } else {
                    try await db.rows("SELECT * FROM consoleToken ORDER BY id DESC")
                }
            return try rows.map(Self.consoleToken)
        }
    }

    public func revokeTokens(_ which: ConsoleTokenSelection, by actor: String, now: Date) async throws -> [ConsoleToken] {
        try await write("revoke console tokens") { db in
            let rows: [Fields]
            switch which {
            case .id(let id):
                rows = try await db.rows("UPDATE consoleToken SET revokedAt = \(Stamp(now)) WHERE id = \(id) AND revokedAt IS NULL RETURNING *")
            case .user(let user):
                rows = try await db.rows("UPDATE consoleToken SET revokedAt = \(Stamp(now)) WHERE username = \(user) AND revokedAt IS NULL RETURNING *")
            }
            let revoked = try rows.map(Self.consoleToken).sorted { $0.id < $1.id }
            for token in revoked {
                let detail = "console token \(token.id) of \(token.user) revoked"
                try await Self.insertAudit([AuditDraft(actor: actor, event: "console.token_revoked", detail: detail)], jobID: nil, now: now, db)
            }
            return revoked
        }
    }

    private static func consoleToken(_ row: Fields) throws -> ConsoleToken {
        ConsoleToken(
            id: try row("id"), user: try row("username"), createdAt: try row.date("createdAt"), expiresAt: try row.date("expiresAt"),
            revokedAt: try row.date(ifAny: "revokedAt"))
    }
}
