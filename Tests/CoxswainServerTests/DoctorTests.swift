import CoxswainAudit
import CoxswainServer
import Foundation
import Testing

@Suite("coxswain doctor", .serialized)
struct DoctorTests {
    @Test("a healthy setup passes every check")
    func healthy() async throws {
        var state = StandInCluster.standardRelease()
        var releases = state["releases"] as! [String: Any]
        releases["llama-2-7b-development"] = ["namespace": "system", "revisions": [StandInCluster.revision(1, "deployed")]]
        state["releases"] = releases
        let key = AuditSigningKey.generate()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoints-\(UUID().uuidString).log").path
        try await Harness.run(cluster: state, extra: "audit: { checkpoint_file: \(file) }", auditSigningKey: key) { h in
            let checks = await Doctor(dependencies: h.dependencies).run()
            let allOK = checks.allSatisfy { $0.ok }
            #expect(allOK, "\(checks.map(\.line))")
            #expect(
                checks.map(\.name) == [
                    "helm", "kubectl", "audit checkpoints", "audit.checkpoint_file", "namespace production", "namespace system", "slack", "channel C0AUDIT",
                ])
            #expect(checks.first { $0.name == "audit checkpoints" }?.detail.contains(key.publicKey.base64) == true)
            #expect(checks.first?.detail == "version 3.14.4")
            #expect(checks.first { $0.name == "slack" }?.detail == "token works: Example as coxswain")
        }
    }

    @Test("a channel the bot is not in is reported with the fix")
    func botNotInChannel() async throws {
        try await Harness.run(channels: ["C0OPS"]) { h in
            await h.world.set(notMemberOf: ["C0OPS"])
            let checks = await Doctor(dependencies: h.dependencies).run()
            #expect(checks.first { $0.name == "channel C0AUDIT" }?.ok == true)
            // Without a signing key: said, with how to make one.
            #expect(checks.first { $0.name == "audit checkpoints" }.map { !$0.ok && $0.detail.contains("coxswain audit keygen") } == true)
            let ops = try #require(checks.first { $0.name == "channel C0OPS" })
            #expect(!ops.ok)
            #expect(ops.detail.contains("not a member (environments.production.channels)") && ops.detail.contains("/invite @coxswain"))
        }
    }

    @Test("helm older than 3.14 and a release helm cannot see are reported")
    func oldHelmAndMissingRelease() async throws {
        var state = StandInCluster.standardRelease()
        state["helm_version"] = "v3.12.3+g3a31588"
        try await Harness.run(cluster: state) { h in
            let checks = await Doctor(dependencies: h.dependencies).run()
            let helm = try #require(checks.first)
            #expect(!helm.ok)
            #expect(helm.detail.contains("version 3.12.3 is older than 3.14.0"))
            let system = try #require(checks.first { $0.name == "namespace system" })
            #expect(!system.ok)
            #expect(system.detail == "helm does not see llama-2-7b-development")
            #expect(checks.first { $0.name == "namespace production" }?.ok == true)
        }
    }
}
