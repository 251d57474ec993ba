import ArgumentParser
import CoxswainCore
import CoxswainServer
import CoxswainStore
import Foundation

/// Opens the database a configuration names, for the read and admin subcommands. Reading
/// commands open it read-only: they create, migrate and write nothing, so they work on a
/// read-only copy and never leave an empty database behind.
struct StoreAccess {
    let database: AppDatabase
    let configuration: CoxswainConfiguration
    var path: String { configuration.databasePath }
    var stores: Stores { Stores(sqlite: database) }

    static func open(_ configPath: String, forWriting: Bool) async throws -> StoreAccess {
        do {
            let configuration = try ConfigurationFiles.configuration(configPath)
            guard forWriting else {
                return StoreAccess(database: try AppDatabase.openReadOnly(path: configuration.databasePath), configuration: configuration)
            }
            let database = try AppDatabase.open(path: configuration.databasePath)
            try await database.seed(Array(configuration.releases.values), now: Date())
            return StoreAccess(database: database, configuration: configuration)
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// Who ran a CLI command, for the audit trail.
    static var actor: String { "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown") }
}

extension Date {
    var iso8601: String { ISO8601DateFormatter().string(from: self) }
}

/// A failure to report as one line and exit 1 (ArgumentParser adds no usage text, which
/// would only distract from what went wrong).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
