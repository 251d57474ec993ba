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

    static func application(_ world: SandboxWorld) async throws -> [String: Any] {
        let json = try await world.setup.kubectl(["get", "applications.argoproj.io", "llama-production", "-n", "argocd", "-o", "json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static func automated(_ application: [String: Any]) -> [String: Any]? {
        ((application["spec"] as? [String: Any])?["syncPolicy"] as? [String: Any])?["automated"] as? [String: Any]
    }

    static func saved(_ application: [String: Any]) -> String? {
        ((application["metadata"] as? [String: Any])?["annotations"] as? [String: Any])?["coxswain.dev/suspended-sync"] as? String
    }

    static func markSync(_ world: SandboxWorld, _ status: String) async throws {
        let patch = "{\"status\":{\"sync\":{\"status\":\"\(status)\"}}}"
        try await world.setup.kubectl(["patch", "applications.argoproj.io", "llama-production", "-n", "argocd", "--type", "merge", "-p", patch])
    }

    @Test("gitops: suspend turns Argo CD's automated sync off before the rollback and says so; /resume-sync puts it back once Git agrees",
        arguments: RealTools.matrix)
    func suspendedThenResumed(pair: RealTools.Pair) async throws {
        try await SandboxWorld.run(pair) { world in
            try await Self.argoManaged(world)
            try await world.coxswain(access: RealToolsRollbackTests.access, gitops: "suspend") { h in
                let job = try await h.runToEnd(Self.release)
                let text = try await h.liveMessageText(job: job)
                #expect(job.state == .succeeded, "\(text)")
                #expect(text.contains("its sync is suspended just before the change so that it cannot undo it"), "\(text)")
                #expect(text.contains("llama-2-7b disabled in production; GitOps sync suspended"), "\(text)")
                #expect(text.contains("Argo CD's automated sync of Application `llama-production` stays suspended"), "\(text)")
                #expect(text.contains("`/resume-sync`"), "\(text)")
                #expect(job.plan?.gitops?.suspendedUntil == "/resume-sync")
                var application = try await Self.application(world)
                #expect(Self.automated(application) == nil, "\(application)")
                let saved = try #require(Self.saved(application))
                #expect(saved.contains("\"automated\":{\"prune\":true,\"selfHeal\":true}") && saved.contains("\"job\":\(job.id)"), "\(saved)")
                #expect(try await h.auditEvents(job: job.id).contains("gitops.suspended"))

                // Not someone without the rollback grant.
                let stranger = try Harness.ephemeralText(try await h.command(Self.release, command: "/resume-sync", user: "U0999DAN"))
                #expect(stranger.contains("rollback"), "\(stranger)")
                #expect(Self.automated(try await Self.application(world)) == nil)
                // Not while Argo CD says Git still differs, unless forced.
                try await Self.markSync(world, "OutOfSync")
                _ = try await h.command(Self.release, command: "/resume-sync")
                let refused = try await h.waitForResponse(containing: "OutOfSync")
                #expect(refused.contains("would put back what Git says and undo the change") && refused.contains("--force"), "\(refused)")
                #expect(Self.automated(try await Self.application(world)) == nil)

                try await Self.markSync(world, "Synced")
                _ = try await h.command(Self.release, command: "/resume-sync")
                let said = try await Eventually.value("the channel hears sync resumed", timeout: .seconds(15)) {
                    await h.world.slackCalls("chat.postMessage").first { $0.text.contains("resumed Argo CD's automated sync") }
                }
                #expect(said.text.contains("llama-production") && said.text.contains("applies what Git says from now on"), "\(said.text)")
                application = try await Self.application(world)
                #expect(Self.automated(application)?["prune"] as? Bool == true && Self.automated(application)?["selfHeal"] as? Bool == true)
                #expect(Self.saved(application) == nil, "\(application)")
                let entry = try #require(try await h.database.tail(limit: 5).first { $0.event == "gitops.resumed" })
                #expect(entry.actor == "U0123ALICE" && entry.detail.contains("kubectl patch applications.argoproj.io llama-production"), "\(entry.detail)")

                _ = try await h.command(Self.release, command: "/resume-sync")
                _ = try await h.waitForResponse(containing: "already syncs on its own: nothing to resume")
            }
        }
    }
}
