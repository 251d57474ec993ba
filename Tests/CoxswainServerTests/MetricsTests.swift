import CoxswainCore
import Foundation
import Testing

/// `/metrics` on the operators' listener, read as Prometheus reads it, after real jobs.
@Suite("Prometheus metrics", .serialized)
struct MetricsTests {
    struct Sample: Equatable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// The samples of a Prometheus text exposition.
    static func samples(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }

    static func scrape(_ h: Harness) async throws -> [Sample] {
        let (status, body) = try await h.operatorGet("/metrics")
        #expect(status == 200)
        return samples(String(decoding: body, as: UTF8.self))
    }

    @Test("after a rollback: the job by state, each step's duration, the webhook, Slack calls, helm and kubectl exit codes, an empty outbox")
    func afterARollback() async throws {
        try await Harness.run { h in
            let job = try await h.runToEnd("llama-2-7b-production pods OOM")
            #expect(job.state == .succeeded)
            let samples = try await Self.scrape(h)
            #expect(Self.value(samples, "coxswain_jobs", ["command": "/rollback", "environment": "production", "state": "succeeded"]) == 1)
            for action in ["helm.history", "confirm", "registry.disable", "helm.rollback", "pods.wait", "probe.health", "probe.completion", "verify"] {
                #expect(Self.value(samples, "coxswain_step_duration_seconds_count", ["action": action, "outcome": "succeeded"]) == 1, "\(action)")
            }
            #expect((Self.value(samples, "coxswain_http_request_duration_seconds_count", ["path": "/slack/commands", "status": "200"]) ?? 0) >= 1)
            #expect((Self.value(samples, "coxswain_slack_api_calls_total", ["method": "chat.postMessage", "outcome": "ok"]) ?? 0) >= 1)
            let helmCalls = try h.cluster.calls().filter { $0.first == "helm" }.count
            #expect(Self.value(samples, "coxswain_cluster_commands_total", ["program": "helm", "exit_code": "0"]) == Double(helmCalls))
            #expect((Self.value(samples, "coxswain_cluster_commands_total", ["program": "kubectl", "exit_code": "0"]) ?? 0) >= 2)
            #expect(Self.value(samples, "coxswain_outbox_pending") == 0 && Self.value(samples, "coxswain_outbox_oldest_pending_seconds") == 0)
            #expect(Self.value(samples, "coxswain_store_up") == 1 && Self.value(samples, "coxswain_jobs_overdue") == 0)
            // Which replica this is, that it holds the lease, and that no replica runs a job now.
            let pid = String(ProcessInfo.processInfo.processIdentifier)
            #expect(Self.value(samples, "coxswain_replica_info", ["replica": ProcessInfo.processInfo.hostName, "pid": pid]) == 1)
            #expect(Self.value(samples, "coxswain_lease_held") == 1)
            #expect(Self.value(samples, "coxswain_jobs_running", ["replica": ProcessInfo.processInfo.hostName, "pid": pid]) == 0)
            // Slack's listener serves Slack's routes and health checks, not this.
            #expect(try await h.client.execute(uri: "/metrics", method: .get).status == .notFound)
        }
    }

    @Test("approvals waiting, unacknowledged break-glass and a failed helm call are counted")
    func waitingAndBreakGlass() async throws {
        let access = """
            roles:
              oncall: { grants: [rollback, emergency], environments: [production] }
              approver: { grants: [approve], environments: [production] }
            members: { U0123ALICE: [oncall], U0789CAROL: [approver] }
            """
        try await Harness.run(cluster: StandInCluster.standardRelease(rollbackError: "context deadline exceeded"), approvals: 1, access: access) { h in
            let waiting = try Harness.jobID(in: try Harness.ephemeralText(try await h.command("llama-2-7b-production")))
            try await h.waitFor(job: waiting, state: .awaitingApproval)
            #expect(Self.value(try await Self.scrape(h), "coxswain_approvals_waiting") == 1)
            let emergency = try await h.runToEnd("llama-2-7b-production --emergency error rate 40%")
            #expect(emergency.state == .failed)
            let samples = try await Self.scrape(h)
            #expect(Self.value(samples, "coxswain_break_glass_unacknowledged") == 1)
            #expect(Self.value(samples, "coxswain_jobs", ["command": "/rollback", "environment": "production", "state": "failed"]) == 1)
            #expect(Self.value(samples, "coxswain_cluster_commands_total", ["program": "helm", "exit_code": "1"]) == 1)
            #expect(Self.value(samples, "coxswain_step_duration_seconds_count", ["action": "helm.rollback", "outcome": "failed"]) == 1)
        }
    }
}
