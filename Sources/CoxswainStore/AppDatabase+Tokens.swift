import CoxswainCore
import Foundation
import GRDB

extension AppDatabase: ConsoleTokenStore {
    public func saveToken(user: String, digest: String, now: Date) async throws {
        try await write("save a console token for \(user)") { db in
            try db.execute(sql: "INSERT INTO consoleToken (user, digest, createdAt) VALUES (?, ?, ?)", arguments: [user, digest, now.stored])
            try Self.insertAudit([AuditDraft(actor: "cli", event: "console.token_issued", detail: "a console token for \(user)")], jobID: nil, now: now, db)
        }
    }

    public func tokenDigests(user: String) async throws -> [String] {
        try await read("read console tokens") { db in
            try String.fetchAll(db, sql: "SELECT digest FROM consoleToken WHERE user = ? AND revokedAt IS NULL", arguments: [user])
        }
    }
}
