import ArgumentParser
import CoxswainCore
import CoxswainServer
import Foundation
import Logging

/// Opens the database a configuration names, for the read and admin subcommands. Reading
/// commands open it read-only: they create, migrate and write nothing, so they work on a
/// read-only copy and never leave an empty database behind.
struct StoreAccess {
    let opened: OpenedStore
    let configuration: CoxswainConfiguration
    var stores: Stores { opened.stores }
    /// The database, as the user would name it (a file, or a postgres:// address).
    var path: String { opened.location }

    static func open(_ configPath: String, forWriting: Bool) async throws -> StoreAccess {
        do {
            let configuration = try ConfigurationFiles.configuration(configPath)
            let environment = ProcessInfo.processInfo.environment
            let logger = Logger(label: "coxswain")
            guard forWriting else {
                let opened = try await OpenedStore.openReadOnly(configuration, environment: environment, logger: logger)
                return StoreAccess(opened: opened, configuration: configuration)
            }
            let opened = try await OpenedStore.open(configuration, environment: environment, logger: logger)
            try await opened.stores.registry.seed(Array(configuration.releases.values), now: Date())
            return StoreAccess(opened: opened, configuration: configuration)
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
