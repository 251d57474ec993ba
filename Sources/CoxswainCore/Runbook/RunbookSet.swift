import Foundation

/// The runbooks in `commands/`, one per command. What a job does is read from its
/// runbook's steps: one with `helm.upgrade` upgrades, one with `helm.rollback` rolls back.
public struct RunbookSet: Sendable {
    public let all: [Runbook]

    public init(_ runbooks: [Runbook]) { self.all = runbooks }

    /// The runbooks of a folder from their files' text (`*.yaml`, in name order), checked
    /// together: each command declared once, none a built-in one.
    /// - Parameters:
    ///   - files: each file's path (for messages) and text.
    ///   - folder: the folder they came from, for the message when there are none.
    public static func parse(files: [(path: String, text: String)], folder: String) throws -> RunbookSet {
        guard !files.isEmpty else { throw RunbookError(file: folder, step: nil, problem: "has no runbook files (*.yaml)") }
        var seen: [String: String] = [:]
        var runbooks: [Runbook] = []
        for (path, text) in files {
            let runbook = try RunbookLoader.parse(yaml: text, file: path)
            if let other = seen[runbook.command] {
                throw RunbookError(file: path, step: nil, problem: "declares \(runbook.command), which \(other) declares too")
            }
            seen[runbook.command] = URL(fileURLWithPath: path).lastPathComponent
            let name = CommandCatalog.name(of: runbook)
            if CommandCatalog.builtIns.contains(where: { $0.name == name }) || name == CommandCatalog.umbrella {
                throw RunbookError(file: path, step: nil, problem: "declares \(runbook.command), which is a built-in command")
            }
            runbooks.append(runbook)
        }
        return RunbookSet(runbooks)
    }

    public func runbook(command: String) -> Runbook? { all.first { $0.command == command } }

    /// The runbook for a kind of job (the first, when several do the same).
    public func runbook(kind: JobKind) -> Runbook? { all.first { $0.kind == kind } }

    /// The runbook a job follows: the one of its command, else the one of its kind.
    public func runbook(for request: JobRequest) -> Runbook? { runbook(command: request.command) ?? runbook(kind: request.kind) }
}

extension Runbook {
    /// What running it does to a release.
    public var kind: JobKind? {
        if step(.helmUpgrade) != nil { return .upgrade }
        if step(.helmRollback) != nil { return .rollback }
        return nil
    }
}
