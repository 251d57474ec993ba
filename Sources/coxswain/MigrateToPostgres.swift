import CoxswainCore
import CoxswainPostgresStore
import CoxswainServer
import CoxswainStore
import Foundation
import Logging

/// `coxswain migrate --to postgres://…`: from one SQLite replica to PostgreSQL.
struct MigrateToPostgres {
    let configPath: String
    let target: String

    func run() async throws {
        let configuration: CoxswainConfiguration
        let address: PostgresAddress
        do {
            configuration = try ConfigurationFiles.configuration(configPath)
            guard configuration.postgres == nil else {
                throw CLIError(
                    "\(configPath) already names PostgreSQL (database: \(configuration.databaseDescription)); --to copies the SQLite database a "
                        + "configuration names. Point --config at the configuration that still names the SQLite file.")
            }
            switch PostgresAddress.parse(target) {
            case .success(let parsed): address = parsed
            case .failure(let problem): throw CLIError("--to \(problem)")
            }
        }
        let environment = ProcessInfo.processInfo.environment
        let logger = Logger(label: "coxswain")
        let source: AppDatabase
        do {
            source = try AppDatabase.openReadOnly(path: configuration.databasePath)
            // A server still writing would be copied half-way: its lease says it runs.
            if let lease = try await source.currentLease(), lease.expiresAt > Date() {
                throw CLIError(
                    "a Coxswain server (\(lease.host), pid \(lease.pid)) still holds \(configuration.databasePath) until \(lease.expiresAt.iso8601); "
                        + "stop it first (a server that crashed lets go then), and run this again")
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(error)")
        }
        let store: PostgresStore
        do {
            store = try await PostgresStore.open(address, password: try ConfigurationFiles.databasePassword(environment), logger: logger)
        } catch {
            throw CLIError("\(error)")
        }
        defer { store.close() }
        let tables: [DatabaseCopy.Table]
        do {
            tables = try await DatabaseCopy.copy(from: source, to: store)
        } catch {
            throw CLIError("nothing was copied: \(error)")
        }
        print("copied \(configuration.databasePath) into \(store.location); every table's count matches:")
        for table in tables { print("  \(table.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(table.rows)") }
        print("next: set `database: \(target)` in \(configPath) and start the replicas (the SQLite file is left as it was)")
    }
}
