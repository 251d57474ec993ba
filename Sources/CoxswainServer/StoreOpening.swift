import CoxswainCore
import CoxswainPostgresStore
import CoxswainStore
import Foundation
import Logging

/// The store a configuration names, opened: an SQLite file (one server) or a PostgreSQL
/// database (`database: postgres://…`, several replicas). `close` lets go of its connections.
public struct OpenedStore: Sendable {
    public let stores: Stores
    /// What logs and errors call it.
    public let location: String
    public let close: @Sendable () -> Void

    /// Opens and migrates the store, for `serve` and the commands that change things.
    public static func open(_ configuration: CoxswainConfiguration, environment: [String: String], logger: Logger) async throws -> OpenedStore {
        if let address = configuration.postgres {
            let password = try ConfigurationFiles.databasePassword(environment)
            let store = try await PostgresStore.open(address, password: password, logger: logger)
            store.deliverNotices(to: platforms(configuration))
            return OpenedStore(stores: Stores(postgres: store), location: store.location, close: { store.close() })
        }
        let database = try AppDatabase.open(path: configuration.databasePath)
        database.deliverNotices(to: platforms(configuration))
        return OpenedStore(stores: Stores(sqlite: database), location: database.location, close: {})
    }

    /// The front ends that get a copy of every notice: Slack, and Mattermost when configured.
    public static func platforms(_ configuration: CoxswainConfiguration) -> [String] {
        (configuration.slackEnabled ? ["slack"] : []) + (configuration.mattermost == nil ? [] : ["mattermost"])
    }

    /// Opens the store for reading only: nothing is created, migrated or written (PostgreSQL
    /// sessions are read-only transactions), so it works on a copy and against a standby.
    public static func openReadOnly(_ configuration: CoxswainConfiguration, environment: [String: String], logger: Logger) async throws -> OpenedStore {
        if let address = configuration.postgres {
            let password = try ConfigurationFiles.databasePassword(environment)
            let store = try await PostgresStore.open(address, password: password, readOnly: true, logger: logger)
            return OpenedStore(stores: Stores(postgres: store), location: store.location, close: { store.close() })
        }
        let database = try AppDatabase.openReadOnly(path: configuration.databasePath)
        return OpenedStore(stores: Stores(sqlite: database), location: database.location, close: {})
    }
}
