import Foundation
import GRDB
import CoxswainCore

public struct UnknownRegistryEntry: Error, CustomStringConvertible {
    public let model: String
    public let environment: String
    public let known: [String]
    public var description: String {
        "no model `\(model)` in environment `\(environment)` in the registry. Known: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
    }
}

extension AppDatabase {
    /// Makes sure every configured release has a registry row. New rows start `ready`;
    /// existing rows keep their status (a model disabled before a restart stays disabled)
    /// but follow the configured endpoint.
    public func seedRegistry(from releases: [CoxswainConfiguration.Release], now: Date) async throws {
        try await writer.write { db in
            for release in releases {
                try db.execute(sql: """
                    INSERT INTO registryEntry (model, environment, release, endpoint, status, updatedAt, updatedBy)
                    VALUES (?, ?, ?, ?, 'ready', ?, 'configuration')
                    ON CONFLICT (model, environment) DO UPDATE SET release = excluded.release, endpoint = excluded.endpoint
                    """, arguments: [release.model, release.environment, release.name, release.endpoint.absoluteString, now])
            }
        }
    }

    /// Sets a model's status in one environment, with its audit entry and any messages.
    @discardableResult
    public func setRegistryStatus(model: String, environment: String, status: RegistryEntry.Status, actor: String,
                                  jobID: Int64?, reason: String, now: Date, messages: [OutgoingDraft] = []) async throws -> RegistryEntry {
        try await writer.write { db in
            guard var entry = try RegistryEntry.fetchOne(db, key: ["model": model, "environment": environment]) else {
                let known = try RegistryEntry.fetchAll(db).map { "\($0.model) (\($0.environment))" }
                throw UnknownRegistryEntry(model: model, environment: environment, known: known)
            }
            let previous = entry.status
            entry.status = status; entry.updatedAt = now; entry.updatedBy = actor
            try entry.update(db)
            try Self.insertMessages(messages, jobID: jobID, now: now, db)
            try Self.insertAudit([AuditDraft(actor: actor, event: "registry.\(status == .ready ? "enable" : "disable")",
                                             detail: "\(model) in \(environment): \(previous.rawValue) -> \(status.rawValue) (\(reason))")],
                                 jobID: jobID, now: now, db)
            return entry
        }
    }

    public func registryEntries(environment: String? = nil) async throws -> [RegistryEntry] {
        try await writer.read { db in
            var request = RegistryEntry.order(Column("environment"), Column("model"))
            if let environment { request = request.filter(Column("environment") == environment) }
            return try request.fetchAll(db)
        }
    }

    public func registryEntry(model: String, environment: String) async throws -> RegistryEntry? {
        try await writer.read { db in try RegistryEntry.fetchOne(db, key: ["model": model, "environment": environment]) }
    }
}
