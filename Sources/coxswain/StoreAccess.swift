import ArgumentParser
import CoxswainCore
import CoxswainStore
import Foundation

/// Opens the database a configuration names, for the read and admin subcommands.
struct StoreAccess {
    let database: AppDatabase
    let configuration: CoxswainConfiguration
    let path: String

    static func open(_ configPath: String) async throws -> StoreAccess {
        do {
            let configuration = try ConfigurationLoader.load(file: configPath)
            let database = try AppDatabase.open(path: configuration.databasePath)
            try await database.seedRegistry(from: Array(configuration.releases.values), now: Date())
            return StoreAccess(database: database, configuration: configuration, path: configuration.databasePath)
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
