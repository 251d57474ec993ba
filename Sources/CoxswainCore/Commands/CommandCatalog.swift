import Foundation

/// Every slash command Coxswain answers, with what Slack shows for it: the runbook
/// commands come from `commands/*.yaml`, the job commands are built in.
public struct CommandDescription: Sendable, Equatable {
    public var command: String
    public var description: String
    public var usageHint: String
    public init(command: String, description: String, usageHint: String) {
        self.command = command; self.description = description; self.usageHint = usageHint
    }
}

public enum CommandCatalog {
    public static let builtIn: [CommandDescription] = [
        .init(command: "/approve", description: "Approve a job waiting for approval", usageHint: "JOB"),
        .init(command: "/deny", description: "Deny a job waiting for approval", usageHint: "JOB [REASON…]"),
        .init(command: "/cancel", description: "Cancel a job before it starts or between steps", usageHint: "JOB"),
        .init(command: "/ack", description: "Acknowledge a break-glass rollback", usageHint: "JOB"),
        .init(command: "/history", description: "Helm history of a release, with the Coxswain job behind each revision", usageHint: "RELEASE [--public]"),
        .init(command: "/status", description: "Helm status, pods, registry, health and open jobs of a release", usageHint: "RELEASE [--public]"),
        .init(command: "/releases", description: "The releases Coxswain knows, with status and version", usageHint: "[ENVIRONMENT] [--public]"),
        .init(command: "/jobs", description: "Recent Coxswain jobs", usageHint: "[RELEASE] [--public]"),
        .init(command: "/coxswain", description: "Every Coxswain command with an example", usageHint: "help"),
    ]

    /// The runbooks' commands, then the built-in ones, each once.
    public static func all(runbooks: [Runbook]) -> [CommandDescription] {
        let fromRunbooks = runbooks.map { CommandDescription(command: $0.command, description: $0.description, usageHint: $0.usage) }
        let names = Set(fromRunbooks.map(\.command))
        return fromRunbooks.sorted { $0.command < $1.command } + builtIn.filter { !names.contains($0.command) }
    }

    /// Loads every `*.yaml` runbook in a folder, in name order.
    public static func loadRunbooks(directory: String) throws -> [Runbook] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard !files.isEmpty else { throw RunbookError(file: directory, step: nil, problem: "has no runbook files (*.yaml)") }
        return try files.filter { $0.hasSuffix(".yaml") }.sorted().map { try RunbookLoader.load(file: directory + "/" + $0) }
    }
}
