import CoxswainCore
import CoxswainStore
import Foundation

/// Short reads of the store for assertions.
extension AppDatabase {
    func steps(jobID: Int64) async throws -> [JobStep] { try await job(id: jobID)?.steps ?? [] }
    func allApprovals(jobID: Int64) async throws -> [Approval] { try await job(id: jobID)?.approvals ?? [] }
    func reference(jobID: Int64, role: String) async throws -> MessageReference? {
        try await references(jobID: jobID, platform: "slack").first { $0.role == role }
    }
}
