import CoxswainCore
import Foundation
import Testing

/// `gitops: suspend` when the sync cannot be turned off, with the stand-in kubectl: the release's
/// Deployment carries Argo CD's tracking annotation, and the API server refuses the Application
/// (the chart's `rbac.gitops` was not set), as it answers a service account without the grant.
@Suite("GitOps sync that cannot be suspended")
struct GitOpsSuspendTests {
    static func argoManaged() -> [String: Any] {
        let release = RollbackEndToEndTests.release
        var state = StandInCluster.standardRelease()
        let tracking = ["argocd.argoproj.io/tracking-id": "llama-production:apps/Deployment:production/\(release)"]
        state["gpu_deployments"] = [release: ["namespace": "production", "replicas": 2, "gpus": 0, "annotations": tracking]]
        return state
    }

    @Test("a change that could not suspend sync does not happen: the job fails before helm, says what to grant, and the model stays ready")
    func failsClosed() async throws {
        try await Harness.run(cluster: Self.argoManaged(), production: ", gitops: suspend") { h in
            let job = try await h.runToEnd(RollbackEndToEndTests.release)
            let text = try await h.liveMessageText(job: job)
            #expect(job.state == .failed && text.contains("❌ Disable model in registry"), "\(text)")
            #expect(text.contains("Error from server (Forbidden)") && text.contains("kubectl auth can-i get applications -n argocd"), "\(text)")
            #expect(text.contains("sync state unknown"), "the plan said it: \(text)")
            #expect(!(try h.cluster.calls().contains { $0.prefix(2) == ["helm", "rollback"] }))
            #expect(try await h.registryStatus() == .ready && text.contains("*Registry:* unchanged; the release was not touched"), "\(text)")
            #expect(job.plan?.gitops?.suspendedUntil == nil)
        }
    }

    @Test("break-glass goes on when sync could not be suspended, and says and audits that it is still on")
    func breakGlassGoesOn() async throws {
        try await Harness.run(cluster: Self.argoManaged(), access: ApprovalTests.access, production: ", gitops: suspend") { h in
            let job = try await h.runToEnd("\(RollbackEndToEndTests.release) --emergency error rate 40%")
            let text = try await h.liveMessageText(job: job)
            #expect(job.state == .succeeded && text.contains("GitOps sync NOT suspended"), "\(text)")
            #expect(try await h.auditEvents(job: job.id).contains("gitops.suspend.failed"))
            #expect(text.components(separatedBy: "GitOps sync NOT suspended").count == 2, "tried once: \(text)")
            #expect(!text.contains("*GitOps:*"), "\(text)")
        }
    }
}
