import CoxswainCore
import Foundation
import GRDB

extension AppDatabase: ConsoleTokenStore {
    public func saveToken(user: String, digest: String, expiresAt: Date, issuedBy: String, now: Date) async throws -> Int64 {
        try await write("save a console token for \(user)") { db in
            try db.execute(
                sql: "INSERT INTO consoleToken (user, digest, createdAt, expiresAt) VALUES (?, ?, ?, ?)",
                arguments: [user, digest, now, expiresAt])
            let id = db.lastInsertedRowID
            let detail = "console token \(id) for \(user), expires \(expiresAt)"
            try Self.insertAudit([AuditDraft(actor: issuedBy, event: "console.token_issued", detail: detail)], jobID: nil, now: now, db)
            return id
        }
    }

    public func tokenDigests(user: String, now: Date) async throws -> [String] {
        try await read("read console tokens") { db in
            try String.fetchAll(
                db, sql: "SELECT digest FROM consoleToken WHERE user = ? AND revokedAt IS NULL AND expiresAt > ?", arguments: [user, now])
        }
    }

    public func consoleTokens(user: String?) async throws -> [ConsoleToken] {
        try await read("list console tokens") { db in
            let rows =
                try user.map { try Row.fetchAll(db, sql: "SELECT * FROM consoleToken WHERE user = ? ORDER BY id DESC", arguments: [$0]) }
                ?? Row.fetchAll(db, sql: "SELECT * FROM consoleToken ORDER BY id DESC")
            return rows.map(Self.consoleToken)
        }
    }

    public func revokeTokens(_ which: ConsoleTokenSelection, by actor: String, now: Date) async throws -> [ConsoleToken] {
        try await write("revoke console tokens") { db in
            let rows: [Row]
            switch which {
            case .id(let id): rows = try Row.fetchAll(db, sql: "SELECT * FROM consoleToken WHERE id = ? AND revokedAt IS NULL", arguments: [id])
            case .user(let user):
                rows = try Row.fetchAll(db, sql: "SELECT * FROM consoleToken WHERE user = ? AND revokedAt IS NULL ORDER BY id", arguments: [user])
            }
            var revoked: [ConsoleToken] = []
            for row in rows {
                var token = Self.consoleToken(row)
                try db.execute(sql: "UPDATE consoleToken SET revokedAt = ? WHERE id = ?", arguments: [now, token.id])
                token.revokedAt = now.asStored
                revoked.append(token)
                let detail = "console token \(token.id) of \(token.user) revoked"
                try Self.insertAudit([AuditDraft(actor: actor, event: "console.token_revoked", detail: detail)], jobID: nil, now: now, db)
            }
            return revoked
        }
    }

    private static func consoleToken(_ row: Row) -> ConsoleToken {
        ConsoleToken(
            id: row["id"], user: row["user"], createdAt: (row["createdAt"] as Date), expiresAt: (row["expiresAt"] as Date),
            revokedAt: (row["revokedAt"] as Date?))
    }
}
