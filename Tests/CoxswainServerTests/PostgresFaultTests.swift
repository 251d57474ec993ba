import CoxswainCore
import CoxswainPostgresStore
import Foundation
import PostgresTestServer
import Testing

/// PostgreSQL going away under a running `coxswain serve` (a restart, a failover that drops
/// every connection): Slack hears within a second either that the request is kept or that
/// nothing was done; nothing acknowledged is lost; work resumes when the database is back,
/// without restarting Coxswain. `COXSWAIN_FAULT_DOWN_SECONDS` lengthens the outage (the
/// full run in Benchmarks/README.md keeps it down 20 s).
@Suite("PostgreSQL faults", .serialized, .enabled(if: TestPostgres.available, "PostgreSQL is not installed"))
struct PostgresFaultTests {
    static let release = "llama-2-7b-production"
    static var downSeconds: Double { Double(ProcessInfo.processInfo.environment["COXSWAIN_FAULT_DOWN_SECONDS"] ?? "") ?? 4 }

    struct Answer {
        let status: Int
        let seconds: Double
        let text: String
        var acknowledged: Bool { text.contains("Job #") }
        var nothingDone: Bool { text.contains("Coxswain cannot record requests right now") && text.contains("Nothing was done") }
    }

    @Test("stopped, started again and its connections dropped under requests: every answer a 200 within 1 s, kept or 'nothing was done'; no restart")
    func stoppedUnderRequests() async throws {
        let postgres = try await PrivatePostgres.start()
        do {
            try await Self.run(postgres)
            await postgres.remove()
        } catch {
            await postgres.remove()
            throw error
        }
    }

    static func run(_ postgres: PrivatePostgres) async throws {
        let address = try await postgres.database()
        let url = "postgres://\(address.user)@127.0.0.1:\(address.port)/\(address.database)?sslmode=disable"
        let environment = ["COXSWAIN_DATABASE_PASSWORD": TestPostgres.password]
        let cluster = try StandInCluster(state: StandInCluster.standardRelease())
        try await ProcessLifecycleTests.withFakeSlack { world, port in
            let yaml = ProcessLifecycleTests.yaml(port, worker: "{ lease_duration: 3s, shutdown_grace: 5s }")
            let coxswain = try await ServerProcess.start(yaml: yaml, database: url, cluster: cluster, environment: environment)
            defer { coxswain.signal(SIGKILL) }
            var answers: [Answer] = []
            func ask() async throws -> Answer {
                let (status, seconds, text) = try await coxswain.commandTimedByCurl(Self.release, fakePort: port)
                let answer = Answer(status: status, seconds: seconds, text: text)
                answers.append(answer)
                return answer
            }
            let first = try await ask()
            #expect(first.acknowledged, "\(first.text)")

            try await postgres.stop()
            let down = ContinuousClock.now
            var whileDown: [Answer] = []
            while whileDown.count < 3 || ContinuousClock.now - down < .seconds(Self.downSeconds) { whileDown.append(try await ask()) }
            let texts = whileDown.map(\.text)
            #expect(whileDown.allSatisfy { $0.nothingDone }, "\(texts)")
            let ready = try await coxswain.get("/readyz")
            #expect(ready.status == 503, "\(ready.text)")

            try await postgres.start()
            let back = ContinuousClock.now
            let resumed = try await Eventually.value("a request to be kept again") { () -> Answer? in
                let answer = try await ask()
                return answer.acknowledged ? answer : nil
            }
            let recovery = ContinuousClock.now - back
            let slowestSoFar = answers.map(\.seconds).max() ?? 0
            print("PostgreSQL down \(down.duration(to: back)); first request kept \(recovery) after it was back;", terminator: " ")
            print("\(answers.count) requests, slowest \(slowestSoFar) s")

            // A failover's other half: every connection dropped by the server, which stays up. Requests go on being kept.
            _ = try await TestPostgres.withConnection(port: address.port, database: "postgres") { connection in
                try await connection.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(address.database) AND pid <> pg_backend_pid()",
                    logger: TestPostgres.logger)
            }
            // The request that finds the pool's connections dead may run out of the intake's second on a loaded
            // machine (it then says nothing was done); the pool recovers at once, and the requests after it are kept.
            _ = try await Eventually.value("a request to be kept after every connection was dropped") { () -> Answer? in
                let answer = try await ask()
                return answer.acknowledged ? answer : nil
            }
            // Kept from then on; on a loaded machine one may still run out of the intake's 0.8 s and say so.
            var after: [Answer] = []
            for _ in 0..<4 { after.append(try await ask()) }
            #expect(after.filter(\.acknowledged).count >= 3, "after every connection was dropped: \(after.map(\.text))")

            // Every answer: a 200 within a second, and either kept or nothing done.
            let statuses = answers.map(\.status), slowest = answers.map(\.seconds).max() ?? 0
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            // Within Slack's 3 s here, where the whole suite loads the machine; the one-second target is
            // measured by the full run on a quiet machine (Benchmarks/README.md), which prints the slowest.
            #expect(slowest < 3.0, "slowest \(slowest) s")
            let all = answers.map(\.text)
            #expect(answers.allSatisfy { $0.acknowledged || $0.nothingDone }, "\(all)")
            // Nothing acknowledged is lost, and every job ends, on the same process.
            let store = try await PostgresStore.open(address, password: TestPostgres.password, logger: TestPostgres.logger)
            defer { store.close() }
            let kept = Set(try answers.filter(\.acknowledged).map { try Harness.jobID(in: $0.text) })
            #expect(kept.contains(try Harness.jobID(in: resumed.text)))
            _ = try await Eventually.value(
                "every acknowledged job to end", timeout: .seconds(60),
                explain: {
                    var states: [String] = []
                    for id in kept.sorted() {
                        states.append("#\(id) \(try await store.job(id: id).map { "\($0.state) \($0.steps.map(\.title))" } ?? "missing")")
                    }
                    return states.joined(separator: "; ") + "\n" + coxswain.output.suffix(3000)
                }
            ) { () -> Bool? in
                for id in kept where try await store.job(id: id)?.state.isFinished != true { return nil }
                return true
            }
            #expect(coxswain.isRunning)
            #expect(try await coxswain.get("/readyz").status == 200)
            _ = world
        }
    }
}
