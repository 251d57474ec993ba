import CoxswainCore
import CoxswainStore
import Foundation

/// Short reads of the store for assertions.
extension JobStore {
    func steps(jobID: Int64) async throws -> [JobStep] { try await job(id: jobID)?.steps ?? [] }
    func allApprovals(jobID: Int64) async throws -> [Approval] { try await job(id: jobID)?.approvals ?? [] }
}

extension OutboxStore {
    func reference(jobID: Int64, role: String) async throws -> MessageReference? {
        try await references(jobID: jobID, platform: "slack").first { $0.role == role }
    }

    /// Every notice, oldest first.
    func notices() async throws -> [(notice: Notice, state: String, attempts: Int)] { try await notices(jobID: nil) }
}

/// The ports the tests read and change a running server's store through, whichever it is.
typealias HarnessStore = JobStore & OutboxStore & RegistryStore & AuditStore & WatchStore & LeaseStore & ConsoleTokenStore
