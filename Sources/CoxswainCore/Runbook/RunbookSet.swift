import Foundation

/// The runbooks in `commands/`, one per command. What a job does is read from its
/// runbook's steps: one with `helm.upgrade` upgrades, one with `helm.rollback` rolls back.
public struct RunbookSet: Sendable {
    public let all: [Runbook]

    public init(_ runbooks: [Runbook]) { self.all = runbooks }

    /// Loads every `*.yaml` runbook in a folder, in name order.
    public static func load(directory: String) throws -> RunbookSet {
        RunbookSet(try CommandCatalog.loadRunbooks(directory: directory))
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
