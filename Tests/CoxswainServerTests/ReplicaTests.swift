import CoxswainCore
import CoxswainPostgresStore
import Foundation
import PostgresTestServer
import Testing

/// Several `coxswain serve` processes on one PostgreSQL database, as replicas run: each
/// answers requests and runs jobs; a runner that stops answering loses its job to another,
/// and when it comes back records nothing and starts nothing for it.
@Suite("replicas on PostgreSQL", .serialized, .enabled(if: TestPostgres.available, "PostgreSQL is not installed"))
struct ReplicaTests {
    static let release = "llama-2-7b-production"

    /// A fresh migrated database, its URL for `database:`, and the environment with its password.
    static func database() async throws -> (url: String, store: PostgresStore, environment: [String: String]) {
        let address = try await TestPostgres.shared.freshDatabase()
        let store = try await PostgresStore.open(address, password: TestPostgres.password, logger: TestPostgres.logger)
        let url = "postgres://\(address.user)@127.0.0.1:\(address.port)/\(address.database)?sslmode=disable"
        return (url, store, ["COXSWAIN_DATABASE_PASSWORD": TestPostgres.password])
    }

    @Test("a runner paused past its claim (SIGSTOP, then SIGCONT): the other replica takes the job over; the woken one records nothing and starts no command")
    func pausedRunner() async throws {
        try await MachineTurn.take { try await Self.pausedRunnerRun() }
    }

    static func pausedRunnerRun() async throws {
        let gate = FileManager.default.temporaryDirectory.appendingPathComponent("wait-gate-\(UUID().uuidString)")
        var state = StandInCluster.standardRelease()
        state["wait_gate"] = gate.path
        let cluster = try StandInCluster(state: state)
        let (url, store, environment) = try await Self.database()
        defer { store.close() }
        try await ProcessLifecycleTests.withFakeSlack { world, port in
            // 5 s claims: 3 s ran out under the whole suite's load while the other replica was only slow, and the woken one took the job back.
            let yaml = ProcessLifecycleTests.yaml(port, worker: "{ lease_duration: 5s, shutdown_grace: 5s }")
            let first = try await ServerProcess.start(yaml: yaml, database: url, cluster: cluster, environment: environment)
            let second = try await ServerProcess.start(yaml: yaml, database: url, cluster: cluster, environment: environment)
            defer {
                [first, second].forEach {
                    $0.signal(SIGCONT); $0.signal(SIGKILL)
                }
            }
            let id = try Harness.jobID(in: try await first.command(Self.release, fakePort: port).text)
            // The job waits for its pods: a step that changes nothing, so its claim lasts 5 s.
            try await Eventually.until("kubectl wait to start") { try cluster.calls().contains { $0.prefix(2) == ["kubectl", "wait"] } }
            let claimed = try #require(try await store.job(id: id)?.claim)
            let (paused, other) = claimed.runner.pid == Int(first.pid) ? (first, second) : (second, first)
            paused.signal(SIGSTOP)
            let taken = try await Eventually.value("the other replica to take job \(id) over") {
                try await store.job(id: id).flatMap { ($0.claim?.generation ?? 0) > claimed.generation ? $0 : nil }
            }
            #expect(taken.claim?.runner.pid == Int(other.pid) && taken.handover?.contains("taken over by replica") == true)
            print("paused runner: job \(id) \(taken.handover ?? "")")
            let before = try cluster.callsByParent().count
            paused.signal(SIGCONT)
            try await Eventually.until("the woken runner to find its claim gone") { paused.output.contains("is no longer this runner's") }
            try Data().write(to: gate)
            try await Eventually.until("job \(id) to succeed") { try await store.job(id: id)?.state == .succeeded }
            let after = try cluster.callsByParent().dropFirst(before)
            #expect(!after.contains { $0.parent == Int(paused.pid) }, "the woken runner started \(after.filter { $0.parent == Int(paused.pid) })")
            #expect(after.contains { $0.parent == Int(other.pid) })
            // Each step's result recorded once: the woken runner's wait result was refused.
            let events = try await store.entries(jobID: id).map(\.event)
            #expect(events.filter { $0 == "step.pods.wait.succeeded" }.count == 1, "\(events)")
            #expect(events.filter { $0 == "job.taken_over" }.count == 1)
            #expect(paused.isRunning)
            _ = world
        }
    }
}
