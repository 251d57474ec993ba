import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// A release that is a plain Deployment (seed section 3b): `kubectl rollout` instead of helm.
@Suite("/rollback of a plain Deployment", .serialized)
struct DeploymentRollbackTests {
    static let release = "semantic-router-dev"

    static func cluster(templates: [String: String] = ["1": "a", "2": "b", "3": "c"], missing: [Int] = []) -> [String: Any] {
        [
            "releases": [:],
            "deployments": [
                "semantic-router": [
                    "namespace": "system", "revisions": [1, 2, 3], "templates": templates, "missing": missing,
                    "pods_after_rollback": [StandInCluster.pod("semantic-router-7c9d-x1", release: release, namespace: "system", ready: true)],
                ]
            ],
            "pods": [StandInCluster.pod("semantic-router-6b8c-y2", release: release, namespace: "system", ready: false, reason: "CrashLoopBackOff")],
        ]
    }

    @Test("a Deployment is rolled back with kubectl rollout, validated and annotated")
    func rollback() async throws {
        try await Harness.run(cluster: Self.cluster(), plainDeployment: true) { h in
            let job = try await h.runToEnd("\(Self.release) bad config push")
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            let selector = "app.kubernetes.io/instance=\(Self.release)"
            // The pods are also read before the change and while kubectl waits.
            let podsRead = ["kubectl", "get", "pods", "-l", selector, "-n", "system", "-o", "json"]
            #expect(try h.cluster.calls().contains(podsRead))
            #expect(
                try h.cluster.calls().filter { $0 != podsRead } == [
                    ["kubectl", "rollout", "history", "deployment/semantic-router", "-n", "system"],
                ] + RollbackEndToEndTests.capacityReads(Self.release, namespace: "system", deployment: "semantic-router") + [
                    ["kubectl", "rollout", "undo", "deployment/semantic-router", "-n", "system", "--to-revision=2"],
                    [
                        "kubectl", "annotate", "deployment", "-l", selector, "-n", "system",
                        "coxswain.dev/rollback-reason=bad config push (coxswain job #\(job.id) by U0123ALICE)", "--overwrite",
                    ],
                    ["kubectl", "rollout", "status", "deployment/semantic-router", "-n", "system", "--timeout=300s"],
                    ["kubectl", "rollout", "status", "deployment/semantic-router", "-n", "system", "--timeout=30s"],
                ])
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("revision 3 -> 2"))
            #expect(try await h.database.entry(model: "semantic-router", environment: "development")?.status == .ready)
        }
    }

    @Test("kubectl's 'skipped rollback' is reported and the job goes on validating")
    func skippedRollback() async throws {
        try await Harness.run(cluster: Self.cluster(templates: ["1": "a", "2": "c", "3": "c"]), plainDeployment: true) { h in
            let job = try await h.runToEnd(Self.release)
            #expect(job.state == .succeeded)
            #expect(try await h.liveMessageText(job: job).contains("skipped: already at revision 2's template"))
            let audit = try await h.database.entries(jobID: job.id)
            #expect(audit.contains { $0.detail.contains("skipped rollback (current template already matches revision 2)") })
        }
    }

    @Test("kubectl's 'unable to find specified revision' fails the job and keeps the model disabled")
    func revisionNotInHistory() async throws {
        try await Harness.run(cluster: Self.cluster(missing: [1]), plainDeployment: true) { h in
            let job = try await h.runToEnd("\(Self.release) 1")
            #expect(job.state == .failed)
            let text = try await h.liveMessageText(job: job)
            #expect(text.contains("error: unable to find specified revision 1 in history"))
            #expect(text.contains("revisionHistoryLimit"))
            #expect(try await h.database.entry(model: "semantic-router", environment: "development")?.status == .disabled)
        }
    }

    @Test("/upgrade refuses a plain Deployment; /history and /status read it with kubectl")
    func noUpgradeAndQueries() async throws {
        try await Harness.run(cluster: Self.cluster(), plainDeployment: true) { h in
            let text = try Harness.ephemeralText(try await h.command("\(Self.release) 0.3.0", command: "/upgrade"))
            #expect(text.contains("is a plain Deployment; Coxswain upgrades Helm releases only"))
            try await h.command(Self.release, command: "/history")
            let history = try await h.waitForResponse(containing: "History of `\(Self.release)`")
            #expect(history.contains("deployment/semantic-router"))
            try await h.command(Self.release, command: "/status")
            let status = try await h.waitForResponse(containing: "Status of `\(Self.release)`")
            #expect(status.contains("rollout: deployment \"semantic-router\" successfully rolled out"))
        }
    }
}
