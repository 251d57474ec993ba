import CoxswainCore
import Foundation
import GRDB

/// The model registry the seed's `admin-cli registry` manages: which models may get traffic.
extension AppDatabase: RegistryStore {
    public func seed(_ releases: [CoxswainConfiguration.Release], now: Date) async throws {
        try await write("seed the registry") { db in
            for release in releases {
                try db.execute(
                    sql: """
                        INSERT INTO registryEntry (model, environment, release, endpoint, status, updatedAt, updatedBy)
                        VALUES (?, ?, ?, ?, 'ready', ?, 'configuration')
                        ON CONFLICT (model, environment) DO UPDATE SET release = excluded.release, endpoint = excluded.endpoint
                        """, arguments: [release.model, release.environment, release.name, release.endpoint.absoluteString, now])
            }
        }
    }

    @discardableResult
    public func setStatus(model: String, environment: String, status: RegistryStatus, actor: String, reason: String, now: Date) async throws -> RegistryEntry {
        try await write("set \(model) \(status.rawValue) in \(environment)") { db in
            try Self.setRegistry(RegistryUpdate(model: model, environment: environment, status: status, reason: reason), actor: actor, jobID: nil, now: now, db)
        }
    }

    public func entries(environment: String?) async throws -> [RegistryEntry] {
        try await read("read the registry") { db in
            if let environment {
                return try RegistryRow.fetchAll(db, sql: "SELECT * FROM registryEntry WHERE environment = ? ORDER BY model", arguments: [environment]).map(
                    \.entry)
            }
            return try RegistryRow.fetchAll(db, sql: "SELECT * FROM registryEntry ORDER BY environment, model").map(\.entry)
        }
    }

    public func entry(model: String, environment: String) async throws -> RegistryEntry? {
        try await read("read the registry") { db in try RegistryRow.fetchOne(db, key: ["model": model, "environment": environment])?.entry }
    }

    /// Changes a model's status with its audit entry, which names the status before.
    @discardableResult
    static func setRegistry(_ update: RegistryUpdate, actor: String, jobID: Int64?, now: Date, _ db: Database) throws -> RegistryEntry {
        guard var row = try RegistryRow.fetchOne(db, key: ["model": update.model, "environment": update.environment]) else {
            let known = try RegistryRow.fetchAll(db).map { "\($0.model) (\($0.environment))" }
            throw UnknownRegistryEntry(model: update.model, environment: update.environment, known: known)
        }
        let previous = row.status
        row.status = update.status; row.updatedAt = now; row.updatedBy = actor
        try row.update(db)
        try insertAudit(
            [
                AuditDraft(
                    actor: actor, event: "registry.\(update.status == .ready ? "enable" : "disable")",
                    detail: "\(update.model) in \(update.environment): \(previous.rawValue) -> \(update.status.rawValue) (\(update.reason))")
            ],
            jobID: jobID, now: now, db)
        return row.entry
    }
}
