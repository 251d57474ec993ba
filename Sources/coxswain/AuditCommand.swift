import ArgumentParser
import CoxswainAudit
import CoxswainCore
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the audit trail and prove it was not changed (the database is opened read-only).",
        subcommands: [Tail.self, Export.self, Verify.self, Keygen.self])

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The newest audit entries, oldest first.",
            discussion: "Example: coxswain audit tail -n 50 --config /etc/coxswain/coxswain.yaml")
        @OptionGroup var options: ConfigOption
        @Option(name: [.customShort("n"), .long], help: "How many entries.") var lines: Int = 50

        func run() async throws {
            let store = try await StoreAccess.open(options.config, forWriting: false)
            for entry in try await store.stores.audit.tail(limit: max(1, lines)) {
                print("\(entry.at.iso8601)  \(entry.jobID.map { "#\($0)" } ?? "-")  \(entry.actor)  \(entry.event)  \(entry.detail)")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every audit entry, as JSON lines, for an incident record or a SIEM.",
            discussion: """
                Each entry carries its place in the chain (seq) and its hash, so the export can be verified on its own: \
                coxswain audit verify --export audit.jsonl --public-key KEY --checkpoints checkpoints.log
                Example: coxswain audit export --format jsonl > audit.jsonl
                """)
        @OptionGroup var options: ConfigOption
        @Option(help: "Output format; only jsonl.") var format: String = "jsonl"

        func run() async throws {
            guard format == "jsonl" else { throw CLIError("unknown format \"\(format)\"; accepted: jsonl. Example: coxswain audit export --format jsonl") }
            let store = try await StoreAccess.open(options.config, forWriting: false)
            let encoder = AuditExport.encoder()
            var after: Int64 = 0
            while true {
                let page = try await store.stores.audit.entries(after: after, limit: 500)
                guard let last = page.last?.seq else { break }
                for entry in page { print(try AuditExport.line(entry, encoder: encoder)) }
                after = last
            }
        }
    }
}
