import CoxswainCore
import Foundation
import Testing

/// A release Argo CD syncs, against the sandbox with the real helm and kubectl: an Application
/// with automated sync, and the tracking annotation Argo CD puts on what it applies.
@Suite("real helm and kubectl: GitOps ownership", .enabled(if: !RealTools.matrix.isEmpty))
struct RealToolsGitOpsTests {
    static let release = "llama-2-7b-production"

    static func argoManaged(_ world: SandboxWorld) async throws {
        try await world.setup.install(release, namespace: "production", versions: ["0.1.0", "0.2.0"])
        let application = world.setup.folder.appendingPathComponent("application.yaml")
        try """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: { name: llama-production, namespace: argocd }
        spec:
          project: default
          source: { repoURL: "https://git.example.com/models.git", path: production/llama, targetRevision: main }
          destination: { server: "https://kubernetes.default.svc", namespace: production }
          syncPolicy: { automated: { prune: true, selfHeal: true } }
        """.write(to: application, atomically: true, encoding: .utf8)
        try await world.setup.kubectl(["create", "-f", application.path])
        try await world.setup.kubectl([
            "annotate", "deployment", release, "-n", "production", "argocd.argoproj.io/tracking-id=llama-production:apps/Deployment:production/\(release)",
        ])
    }

    @Test("gitops: refuse stops the rollback before anything changes and says what to do; the default warns the approver and goes ahead",
        arguments: RealTools.matrix)
    func refusedThenWarned(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await Self.argoManaged(world)
            let owner = "managed by Argo CD Application llama-production (namespace argocd), automated sync on"
            try await world.coxswain(access: RealToolsRollbackTests.access, gitops: "refuse") { h in
                let job = try await h.runToEnd(Self.release)
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .failed && text.contains("❌ Check GitOps ownership"), "\(text)")
                #expect(text.contains("\(Self.release) is \(owner): it may put back what Git says"), "\(text)")
                #expect(text.contains("argocd app set llama-production --sync-policy none"), "\(text)")
                let history = try await RealToolsRollbackTests.history(world)
                #expect(history.count == 2, "helm was not touched: \(history)")
            }
            try await world.coxswain(approvals: 1, access: RealToolsRollbackTests.access) { h in
                let id = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release)))
                try await h.waitFor(job: id, state: .awaitingApproval)
                let request = try #require(await h.world.slackCalls("chat.postMessage").first { $0.text.contains("Approval needed") })
                #expect(request.text.contains("⚠️ GitOps: \(owner): it may put back what Git says and undo this change"), "\(request.text)")
                _ = try await h.command("\(id)", command: "/approve", user: "U0789CAROL")
                let job = try await h.waitUntilSettled(job: id)
                #expect(job.state == .succeeded && job.plan?.gitops?.owner.autoSync == true, "\(job.outcome ?? "")")
                #expect(try await h.auditEvents(job: id).contains("step.gitops.check.succeeded"))
            }
        }
    }
}
