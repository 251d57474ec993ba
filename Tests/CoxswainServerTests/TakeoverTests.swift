import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// A running job whose runner is gone is taken over and goes on from what its recorded steps
/// and the release say: steps that changed nothing run again, a change never runs twice.
@Suite("taking a job over")
struct TakeoverTests {
    static let release = "llama-2-7b-production"
    static let from = HelmRevision(revision: 5, status: "deployed", chart: "vllm-deployment-0.3.0", appVersion: "0.5.1")
    static let to = HelmRevision(revision: 3, status: "superseded", chart: "vllm-deployment-0.2.0", appVersion: "0.4.1")

    /// A job a runner that is gone (its claim expired a minute ago) left running, with these steps recorded.
    static func leftRunning(_ database: AppDatabase, steps: [(String, String, StepStatus)], claimed: Bool = true) async throws -> Int64 {
        let request = JobRequest(
            kind: .rollback, command: "/rollback", release: release, environment: "production", namespace: "production",
            model: "llama-2-7b", requestedBy: "U0123ALICE", channel: "C0OPS", platform: "slack")
        let queued = try await database.accept(
            request, approvalsRequired: 0, requestKey: UUID().uuidString, references: [], now: Date(), join: nil,
            created: { job, _ in JobChange(job: job) }, joined: { JobChange(job: $0) })
        var running = queued.job
        running.state = .running
        running.plan = steps.count > 1 ? RollbackPlan(from: from, to: to) : nil
        running.runnerID = "gone:1:abc"
        if claimed {
            let gone = RunnerIdentity(id: "gone:1:abc", host: "elsewhere", processSpace: "another machine", pid: 1)
            running.claim = RunnerClaim(generation: 1, runner: gone, renewedAt: Date(timeIntervalSinceNow: -90), expiresAt: Date(timeIntervalSinceNow: -60))
        }
        running.steps = steps.enumerated().map { position, step in
            JobStep(
                position: position, action: step.0, title: step.1, status: step.2, startedAt: Date(),
                finishedAt: step.2 == .running ? nil : Date())
        }
        running.lastCompletedStep = steps.last { $0.2 == .succeeded }?.1
        try await database.commit(JobChange(job: running), now: Date())
        return queued.job.id
    }

    static let throughRegistry: [(String, String, StepStatus)] = [
        ("helm.history", "Show release history", .succeeded), ("capacity.check", "Check GPU capacity", .succeeded),
        ("gitops.check", "Check GitOps ownership", .succeeded),
        ("confirm", "Confirm rollback target", .succeeded),
        ("registry.disable", "Disable model in registry", .succeeded),
    ]

    /// The standard release after helm rolled it back from 5 to 3 (or while it still does).
    static func rolledBack(_ status: String) -> [String: Any] {
        var revisions = (1...4).map { StandInCluster.revision($0, $0 == 4 ? "failed" : "superseded") }
        revisions.append(StandInCluster.revision(5, "superseded", chart: "vllm-deployment-0.3.0", app: "0.5.1"))
        revisions.append(StandInCluster.revision(6, status, description: "Rollback to 3"))
        var state = StandInCluster.standardRelease(revisions: revisions)
        state["pods"] = [StandInCluster.pod("\(release)-7b8f9d5c-x7k2m", release: release, namespace: "production", ready: true)]
        return state
    }

    @Test("left running by an earlier version without a claim, before anything changed: taken over and run from the top")
    func unclaimedFromTheTop() async throws {
        let database = try AppDatabase.inMemory()
        let id = try await Self.leftRunning(
            database, steps: [("helm.history", "Show release history", .succeeded), ("confirm", "Confirm rollback target", .running)], claimed: false)
        try await Harness.run(database: database) { h in
            try await Eventually.until("job \(id) to finish") { try await h.database.job(id: id)?.state.isFinished == true }
            let job = try #require(try await h.database.job(id: id))
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            #expect(job.claim?.generation == 1 && job.handover?.hasPrefix("taken over by replica") == true)
            #expect(try Harness.rollbackCalls(h).count == 1)
            let audit = try await h.database.entries(jobID: id).filter { $0.event == "job.taken_over" }
            #expect(audit.count == 1 && audit.first?.detail.contains("it was left running without a claim") == true)
            try await Eventually.until("the live message to say it was taken over") {
                let sent = await h.world.slackCalls("chat.postMessage") + h.world.slackCalls("chat.update")
                return sent.contains { $0.text.contains("Job #\(id)") && $0.text.contains("taken over by replica") }
            }
        }
    }

    @Test("the dead runner's rollback landed: no second helm rollback; pods, health, completion, re-enable and verify follow")
    func landedGoesOn() async throws {
        let database = try AppDatabase.inMemory()
        let id = try await Self.leftRunning(database, steps: Self.throughRegistry + [("helm.rollback", "Helm rollback", .running)])
        try await Harness.run(cluster: Self.rolledBack("deployed"), database: database) { h in
            try await Eventually.until("job \(id) to finish") { try await h.database.job(id: id)?.state.isFinished == true }
            let job = try #require(try await h.database.job(id: id))
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            #expect(try Harness.rollbackCalls(h).isEmpty)
            #expect(job.steps.first { $0.action == "helm.rollback" }?.note == "landed before the takeover: revision 6")
            #expect(job.steps.map(\.status).allSatisfy { $0 == .succeeded } && job.steps.count == 12)
            #expect(try await h.registryStatus() == .ready)
            #expect(job.claim?.generation == 2)
        }
    }

    @Test("the dead runner's rollback never reached helm: this runner runs it, once")
    func notStartedRunsOnce() async throws {
        let database = try AppDatabase.inMemory()
        let id = try await Self.leftRunning(database, steps: Self.throughRegistry + [("helm.rollback", "Helm rollback", .running)])
        try await Harness.run(database: database) { h in
            try await Eventually.until("job \(id) to finish") { try await h.database.job(id: id)?.state.isFinished == true }
            let job = try #require(try await h.database.job(id: id))
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            #expect(try Harness.rollbackCalls(h).map { Array($0.prefix(3)) } == [["helm", "rollback", Self.release]])
            #expect(try Harness.rollbackCalls(h).first?.contains("3") == true)
        }
    }

    @Test("helm still shows the dead runner's rollback pending past the step's timeout: the job fails with the seed's hint and changes nothing more")
    func pendingTooLong() async throws {
        let folder = try Self.runbooksWithRollbackTimeout("3s")
        let database = try AppDatabase.inMemory()
        let id = try await Self.leftRunning(database, steps: Self.throughRegistry + [("helm.rollback", "Helm rollback", .running)])
        try await Harness.run(cluster: Self.rolledBack("pending-rollback"), database: database, runbooks: folder.path) { h in
            try await Eventually.until("job \(id) to finish") { try await h.database.job(id: id)?.state.isFinished == true }
            let job = try #require(try await h.database.job(id: id))
            #expect(job.state == .failed)
            #expect(job.outcome?.contains("revision 6 is still pending-rollback after waiting 3s") == true, "\(job.outcome ?? "")")
            #expect(try Harness.rollbackCalls(h).isEmpty)
            #expect(try h.cluster.calls().allSatisfy { $0.prefix(2) == ["helm", "history"] })
            try await Eventually.until("the live message to give the hint") {
                let sent = await h.world.slackCalls("chat.postMessage") + h.world.slackCalls("chat.update")
                return sent.contains { $0.text.contains("Job #\(id)") && $0.text.contains("helm history \(Self.release)") }
            }
        }
    }

    @Test("a step recorded as failed by a runner that died before ending the job: the job is ended as failed, nothing runs")
    func failedStepEnds() async throws {
        let database = try AppDatabase.inMemory()
        let id = try await Self.leftRunning(database, steps: Self.throughRegistry + [("helm.rollback", "Helm rollback", .failed)])
        try await Harness.run(database: database) { h in
            try await Eventually.until("job \(id) to finish") { try await h.database.job(id: id)?.state.isFinished == true }
            #expect(try await h.database.job(id: id)?.state == .failed)
            #expect(try h.cluster.calls().isEmpty)
        }
    }

    /// The repository's runbooks, with helm.rollback's timeout shortened.
    static func runbooksWithRollbackTimeout(_ timeout: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("runbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let commands = Harness.repositoryRoot.appendingPathComponent("commands")
        for name in try FileManager.default.contentsOfDirectory(atPath: commands.path) where name.hasSuffix(".yaml") {
            var text = try String(contentsOf: commands.appendingPathComponent(name), encoding: String.Encoding.utf8)
            if name == "rollback.yaml" {
                text = text.replacingOccurrences(of: "    title: Helm rollback\n    timeout: 10m0s", with: "    title: Helm rollback\n    timeout: \(timeout)")
            }
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: String.Encoding.utf8)
        }
        return folder
    }
}
