import CoxswainCore
import Foundation
import Testing

/// `/history`, `/status`, `/releases`, `/jobs`, `/coxswain help`: read-only, no approval.
@Suite("read-only commands", .serialized)
struct QueryTests {
    static let release = "llama-2-7b-production"

    @Test("/history lists revisions newest first with the Coxswain job behind each")
    func history() async throws {
        try await Harness.run { h in
            let job = try await h.runToEnd("\(Self.release) pods OOM after upgrade")
            let ack = try Harness.ephemeralText(try await h.command(Self.release, command: "/history"))
            #expect(ack.contains("Asking the cluster"))
            let answer = try await h.waitForResponse(containing: "History of `\(Self.release)`")
            let rows = answer.split(separator: "\n").filter { $0.first?.isNumber == true }
            #expect(rows.map { $0.split(separator: " ").first.map(String.init) } == ["6", "5", "4", "3", "2", "1"])
            #expect(rows.first?.contains("deployed") == true)
            #expect(rows.first?.contains("job #\(job.id) by U0123ALICE: pods OOM after upgrade") == true)
            #expect(rows.dropFirst().allSatisfy { !$0.contains("job #") })
        }
    }

    @Test("/status shows helm, pods, registry, health and open jobs")
    func status() async throws {
        try await Harness.run { h in
            try await h.command(Self.release, command: "/status")
            let answer = try await h.waitForResponse(containing: "Status of `\(Self.release)`")
            #expect(answer.contains("helm: revision 5 deployed (vllm-deployment-0.3.0, app 0.5.1)"))
            #expect(answer.contains("pods: 0/1 ready, 5 restarts, CrashLoopBackOff"))
            #expect(answer.contains("registry: `llama-2-7b` ready in production"))
            #expect(answer.contains("health: /health 200 in"))
            #expect(answer.contains("jobs: none running or queued"))
            let unknown = try Harness.ephemeralText(try await h.command("llama-70b", command: "/status"))
            #expect(unknown.contains("Asking the cluster"))
            #expect(try await h.waitForResponse(containing: "does not know a release `llama-70b`").contains("llama-2-7b-production"))
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
        }
    }

    @Test("/releases lists what Coxswain knows, by environment")
    func releases() async throws {
        try await Harness.run { h in
            try await h.command("production", command: "/releases")
            let answer = try await h.waitForResponse(containing: "Releases in `production`")
            #expect(answer.contains("llama-2-7b-production"))
            #expect(answer.contains("revision 5 deployed"))
            #expect(!answer.contains("llama-2-7b-development"))
            try await h.command("staging", command: "/releases")
            #expect(try await h.waitForResponse(containing: "no environment `staging`").contains("development, production"))
        }
    }

    @Test("/jobs answers at once; --public posts in the channel; /coxswain help lists every command")
    func jobsAndHelp() async throws {
        try await Harness.run { h in
            let none = try Harness.ephemeralText(try await h.command("", command: "/jobs"))
            #expect(none.contains("No jobs yet"))
            let job = try await h.runToEnd(Self.release)
            let response = try await h.command("\(Self.release) --public", command: "/jobs")
            let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
            #expect(object?["response_type"] as? String == "in_channel")
            let line = (object?["text"] as? String)?.split(separator: "\n").first { $0.hasPrefix("#\(job.id) ") }
            #expect(line?.contains("/rollback") == true && line?.contains(Self.release) == true && line?.contains("succeeded") == true)
            let help = try Harness.ephemeralText(try await h.command("help", command: "/coxswain"))
            for command in ["/rollback", "/approve", "/deny", "/cancel", "/ack", "/history", "/status", "/releases", "/jobs"] {
                #expect(help.contains("`\(command)"), "help lacks \(command)")
            }
            let bad = try Harness.ephemeralText(try await h.command("a b", command: "/status"))
            #expect(bad.contains("takes one name"))
        }
    }

    @Test("a cluster that does not answer is said to be so")
    func clusterDoesNotAnswer() async throws {
        var state = StandInCluster.standardRelease()
        state["hang"] = true
        try await Harness.run(cluster: state, readTimeout: "1s") { h in
            try await h.command(Self.release, command: "/history")
            let answer = try await h.waitForResponse(containing: "did not answer")
            #expect(answer.contains("The cluster did not answer `helm history \(Self.release) -n production` within 1s"))
        }
    }
}
