import ArgumentParser
import CoxswainCore
import CoxswainStore
import Foundation

/// The seed's `admin-cli registry`: list, disable, enable.
struct Registry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or change which models may receive traffic (the model registry).",
        subcommands: [List.self, Disable.self, Enable.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List models and their status.")
        @OptionGroup var options: ConfigOption
        @Option(help: "Only this environment, e.g. production.") var environment: String?

        func run() async throws {
            let store = try await StoreAccess.open(options.config, forWriting: false)
            if let environment, store.configuration.environments[environment] == nil {
                throw CLIError("unknown environment \"\(environment)\"; known: \(store.configuration.environments.keys.sorted().joined(separator: ", "))")
            }
            let entries = try await store.stores.registry.entries(environment: environment)
            print(
                TextTable.render(
                    ["ID", "Model Name", "Endpoint", "Status", "Environment", "Updated", "By"],
                    entries.enumerated().map { index, e in
                        [String(index + 1), e.model, e.endpoint, e.status.rawValue, e.environment, e.updatedAt.iso8601, e.updatedBy]
                    }))
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop routing traffic to a model in one environment.",
            discussion: "Example: coxswain registry disable --model-name llama-2-7b --environment production")
        @OptionGroup var change: RegistryChange
        func run() async throws { try await change.apply(.disabled) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Route traffic to a model in one environment again.",
            discussion: "Example: coxswain registry enable --model-name llama-2-7b --environment production")
        @OptionGroup var change: RegistryChange
        func run() async throws { try await change.apply(.ready) }
    }
}

struct RegistryChange: ParsableArguments {
    @OptionGroup var options: ConfigOption
    @Option(help: "The model, e.g. llama-2-7b.") var modelName: String
    @Option(help: "The environment, e.g. production.") var environment: String
    @Option(help: "Why, for the audit trail.") var reason: String = "manual change"

    func apply(_ status: RegistryStatus) async throws {
        let store = try await StoreAccess.open(options.config, forWriting: true)
        do {
            let entry = try await store.stores.registry.setStatus(
                model: modelName, environment: environment, status: status,
                actor: StoreAccess.actor, reason: reason, now: Date())
            print("\(entry.model) in \(entry.environment): \(entry.status.rawValue)")
        } catch let error as UnknownRegistryEntry {
            throw CLIError(error.description)
        }
    }
}
