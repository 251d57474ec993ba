import CoxswainCore
import CoxswainPostgresStore
import Foundation
import PostgresTestServer
import Synchronization
import Testing

/// Three `coxswain serve` replicas on one PostgreSQL database while one of them is
/// SIGKILLed at a random moment every few seconds and started again: one engineer per
/// release asks for a rollback, waits for it to end and asks again. Whatever was killed,
/// every acknowledged request is a job, every job ends, no job ran `helm rollback` twice,
/// no Slack message went out twice, the audit trail and the audit channel miss nothing,
/// and a killed runner's job is taken over within its claim plus 5 s.
/// CI runs it shortened; `Benchmarks/README.md` names the full run (200 jobs over 20
/// releases, a kill every 15 s): `COXSWAIN_CHAOS_JOBS`, `COXSWAIN_CHAOS_RELEASES`,
/// `COXSWAIN_CHAOS_KILL_EVERY`, `COXSWAIN_CHAOS_CLAIM` and `COXSWAIN_CHAOS_HELM_SECONDS` (how long
/// each `helm rollback` or `helm upgrade` takes), in seconds.
@Suite("replicas killed under jobs", .serialized, .enabled(if: TestPostgres.available, "PostgreSQL is not installed"))
struct ReplicaChaosTests {
    struct Plan {
        // CI's size: small enough not to starve the suites running beside it on two cores.
        var jobs = 16, releases = 4, killEvery = 8.0, claim = 4
        var rollbackSeconds = 1.0
        init() {
            let environment = ProcessInfo.processInfo.environment
            func number(_ name: String) -> Double? { environment[name].flatMap(Double.init) }
            jobs = number("COXSWAIN_CHAOS_JOBS").map(Int.init) ?? jobs
            releases = number("COXSWAIN_CHAOS_RELEASES").map(Int.init) ?? releases
            killEvery = number("COXSWAIN_CHAOS_KILL_EVERY") ?? killEvery
            claim = number("COXSWAIN_CHAOS_CLAIM").map(Int.init) ?? claim
            rollbackSeconds = number("COXSWAIN_CHAOS_HELM_SECONDS") ?? rollbackSeconds
        }
        var names: [String] { (1...releases).map { "chaos-\($0)-production" } }
    }

    /// The replicas now running, every kill (whom, when), and what the engineers were answered.
    final class Fleet: Sendable {
        let running = Mutex<[ServerProcess]>([])
        let kills = Mutex<[(pid: Int, at: Date)]>([])
        let acknowledged = Mutex<[Int64]>([])
        let unanswered = Mutex(0)
        var any: ServerProcess? { running.withLock { $0.filter(\.isRunning).randomElement() } }
    }

    @Test("three replicas, one SIGKILLed every few seconds and started again: every job ends, none mutates twice, nothing posted twice or lost")
    func killedUnderJobs() async throws {
        try await MachineTurn.take { try await Self.run(Plan()) }
    }

    static func run(_ plan: Plan) async throws {
        let cluster = try StandInCluster(state: Self.cluster(plan))
        let (url, store, environment) = try await ReplicaTests.database()
        defer { store.close() }
        try await ProcessLifecycleTests.withFakeSlack { world, port in
            // One model server behind every release, serving each release's model.
            await world.set(servedModels: (1...plan.releases).map { ("chaos-\($0)", 4096) })
            let yaml = Self.yaml(port, plan)
            let fleet = Fleet()
            let start: @Sendable () async throws -> ServerProcess = {
                try await ServerProcess.start(yaml: yaml, database: url, cluster: cluster, environment: environment)
            }
            for _ in 0..<3 { let replica = try await start(); fleet.running.withLock { $0.append(replica) } }
            defer { fleet.running.withLock { $0 }.forEach { $0.signal(SIGKILL) } }
            let began = Date()

            @Sendable func killLoop() async throws {
                while !Task.isCancelled {
                    // The fault's schedule, by design: a random moment around every `killEvery` seconds.
                    try await Task.sleep(for: .seconds(Double.random(in: 0.5...1.5) * plan.killEvery))
                    // A replica running a job when there is one: a kill of an idle replica shows less.
                    let runners = Set(try await store.runningJobs().compactMap { $0.claim?.runner.pid })
                    let alive = fleet.running.withLock { $0.filter(\.isRunning) }
                    guard let victim = alive.filter({ runners.contains(Int($0.pid)) }).randomElement() ?? alive.randomElement() else { continue }
                    fleet.kills.withLock { $0.append((Int(victim.pid), Date())) }
                    victim.signal(SIGKILL)
                    _ = try await victim.waitForExit()
                    let replacement = try await start()
                    fleet.running.withLock { $0 = $0.filter { $0 !== victim } + [replacement] }
                }
            }
            let killer = Task {
                // Cancelled at the end, perhaps inside a store read (which then fails as given up, not as a
                // CancellationError): only a failure before that is the killer's own.
                do { try await killLoop() } catch { if !Task.isCancelled { throw error } }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, release) in plan.names.enumerated() {
                    let count = plan.jobs / plan.releases + (index < plan.jobs % plan.releases ? 1 : 0)
                    group.addTask {
                        try await Self.engineer(release: release, jobs: count, fleet: fleet, store: store, port: port)
                    }
                }
                try await group.waitForAll()
            }
            killer.cancel()
            if case .failure(let error) = await killer.result, !(error is CancellationError) {
                Issue.record(error, "a killed replica could not be started again")
            }
            let elapsed = Date().timeIntervalSince(began)
            try await Self.check(
                plan, store: store, world: world, cluster: cluster, acknowledged: fleet.acknowledged.withLock { $0 },
                kills: fleet.kills.withLock { $0 }, summary: "\(Int(elapsed)) s, \(fleet.unanswered.withLock { $0 }) requests unanswered by a killed replica")
        }
    }

    /// One engineer: asks for an upgrade of `release`, waits for the job to end, asks for a
    /// rollback, and so on. A request a killed replica never answered is asked again once no
    /// job of the release is open.
    static func engineer(release: String, jobs: Int, fleet: Fleet, store: PostgresStore, port: Int) async throws {
        var done = 0
        while done < jobs {
            let replica = try await Eventually.value("a replica running") { fleet.any }
            // Upgrades and rollbacks in turn: each undoes the one before, and both are helm mutations.
            let (command, text) = done % 2 == 0 ? ("/upgrade", "\(release) \(Self.version(done))") : ("/rollback", release)
            let answer = try? await replica.command(text, command: command, fakePort: port)
            // A request the killed replica never answered; anything else must be a job.
            guard let answer, answer.status != 0 else {
                fleet.unanswered.withLock { $0 += 1 }
                try await Eventually.until("no open job of \(release)", timeout: .seconds(180)) {
                    try await !store.openJobs().contains { $0.request.release == release }
                }
                continue
            }
            guard answer.status == 200, let match = answer.text.firstMatch(of: /Job #(\d+)/), let id = Int64(match.1) else {
                Issue.record(Comment(rawValue: "\(command) \(text) was not acknowledged: \(answer.status) \(answer.text)"))
                return
            }
            fleet.acknowledged.withLock { $0.append(id) }
            try await Eventually.until("job \(id) of \(release) to end", timeout: .seconds(180)) { try await store.job(id: id)?.state.isFinished == true }
            done += 1
        }
    }

    static func check(
        _ plan: Plan, store: PostgresStore, world: FakeWorld, cluster: StandInCluster, acknowledged: [Int64],
        kills: [(pid: Int, at: Date)], summary: String
    ) async throws {
        let jobs = try await store.recentJobs(release: nil, limit: 100_000)
        let byID = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0) })
        // Every acknowledged request is a job, and every job ended (a failure with its reason).
        #expect(acknowledged.count == plan.jobs, "\(acknowledged.count) of \(plan.jobs) requests acknowledged")
        #expect(acknowledged.allSatisfy { byID[$0] != nil }, "acknowledged but missing: \(acknowledged.filter { byID[$0] == nil })")
        let open = jobs.filter { !$0.state.isFinished }.map { "#\($0.id) \($0.state)" }
        #expect(open.isEmpty, "jobs that never ended: \(open)")
        let unexplained = jobs.filter { $0.state != .succeeded && ($0.outcome ?? "").isEmpty }.map(\.id)
        #expect(unexplained.isEmpty, "failed without a reason: \(unexplained)")
        // A kill interrupts a runner, never the model server: a job that failed a validation step failed for another reason.
        let validations = ["Health endpoints", "Served model", "Completion test"]
        let invalid = jobs.filter { job in validations.contains { (job.outcome ?? "").contains("failed at \($0):") } }.map { "#\($0.id): \($0.outcome ?? "")" }
        #expect(invalid.isEmpty, "failed a validation step: \(invalid)")

        // The audit trail: each job requested once and ended once; the audit channel got its one line
        // once every notice went out.
        try await Eventually.until("every notice to go out") { try await store.pending(platform: "slack").count == 0 }
        let auditPosts = await world.slackCalls("chat.postMessage").filter { $0.channel == "C0AUDIT" }.map(\.text)
        var mutated: [String: [Int64]] = [:], takeovers: [(job: Int64, seconds: Double)] = [], takenFrom: [Int64: Int] = [:]
        for job in jobs {
            let events = try await store.entries(jobID: job.id)
            let names = events.map(\.event)
            #expect(names.filter { $0 == "job.requested" }.count == 1, "job \(job.id): \(names)")
            #expect(names.filter { $0 == "job.\(job.state.rawValue)" }.count == 1, "job \(job.id) \(job.state): \(names)")
            let lines = auditPosts.filter { $0.contains("Job #\(job.id) ") }.count
            #expect(lines == 1, "job \(job.id): \(lines) lines in the audit channel")
            let mutations = [RunbookAction.helmRollback, .helmUpgrade].map { "step.\($0.rawValue)." }
            if names.contains(where: { name in mutations.contains { name.hasPrefix($0) } }) { mutated[job.request.release, default: []].append(job.id) }
            for entry in events where entry.event == "job.taken_over" {
                guard let pid = Self.previousPid(entry.detail), let kill = kills.last(where: { $0.pid == pid && $0.at <= entry.at }) else {
                    Issue.record("job \(job.id) taken over from a runner that was not killed: \(entry.detail)")
                    continue
                }
                takeovers.append((job.id, entry.at.timeIntervalSince(kill.at)))
                takenFrom[job.id] = pid
            }
        }
        // No job changed the release twice: one `helm rollback` or `helm upgrade` per job that recorded the step.
        let calls = try cluster.calls().filter { $0.prefix(2) == ["helm", "rollback"] || $0.prefix(2) == ["helm", "upgrade"] }
        var midChange = 0
        for release in plan.names {
            let made = try cluster.callsByParent().filter { Self.isMutation($0.argv, of: release) }
            let changing = mutated[release, default: []].sorted()
            #expect(made.count == changing.count, "\(release): \(made.count) helm mutations for \(changing.count) jobs")
            // A release's jobs run one after another, so its nth helm change is its nth changing job's. Taken over after
            // the killed runner had started it: the new runner went on from what helm recorded.
            midChange += zip(made, changing).filter { call, job in takenFrom[job] == call.parent }.count
        }
        // No Slack message posted twice: each notice went out once.
        let posted = await world.posted.compactMap(\.noticeID)
        let twice = Dictionary(grouping: posted, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(twice.isEmpty, "notices posted more than once: \(twice)")
        // Each killed runner's job taken over within its claim plus 5 s.
        let slowest = takeovers.map(\.seconds).max() ?? 0
        #expect(slowest <= Double(plan.claim) + 5, "takeovers: \(takeovers)")

        let succeeded = jobs.filter { $0.state == .succeeded }.count
        for job in jobs where job.state != .succeeded { print("job \(job.id) \(job.request.release) \(job.state): \(job.outcome ?? "")") }
        print(
            "replica chaos: \(jobs.count) jobs over \(plan.releases) releases (\(succeeded) succeeded, \(jobs.count - succeeded) failed),",
            "\(kills.count) kills, \(takeovers.count) takeovers (\(midChange) after the killed runner had started helm;",
            "slowest \(String(format: "%.1f", slowest)) s after the kill, claim \(plan.claim) s),",
            "\(calls.count) helm rollbacks and upgrades, \(posted.count) posts; \(summary)")
    }

    static func isMutation(_ argv: [String], of release: String) -> Bool {
        argv.count > 2 && argv[0] == "helm" && ["rollback", "upgrade"].contains(argv[1]) && argv[2] == release
    }

    /// The pid in a `job.taken_over` entry's "took the job over from replica HOST (pid N), generation G".
    static func previousPid(_ detail: String) -> Int? {
        guard let from = detail.range(of: " from ")?.upperBound, let open = detail.range(of: "(pid ", range: from..<detail.endIndex)?.upperBound,
            let close = detail[open...].firstIndex(of: ")")
        else { return nil }
        return Int(detail[open..<close])
    }

    /// Each release a model of its own (the registry and the one-job-per-model rule stay out of the way);
    /// each `helm rollback` takes a while, so a kill often lands during one.
    static func cluster(_ plan: Plan) -> [String: Any] {
        let standard = StandInCluster.standardRelease()
        let template = (standard["releases"] as! [String: Any])["llama-2-7b-production"] as! [String: Any]
        var releases: [String: Any] = [:], pods: [[String: Any]] = []
        for name in plan.names {
            var release = template
            release["pods_after_rollback"] = [StandInCluster.pod("\(name)-7b8f9d5c-x7k2m", release: name, namespace: "production", ready: true)]
            release["pods_after_upgrade"] = release["pods_after_rollback"]
            releases[name] = release
            pods.append(StandInCluster.pod("\(name)-6c7d8e9f-a1b2c", release: name, namespace: "production", ready: false, reason: "CrashLoopBackOff"))
        }
        let versions = (0..<plan.jobs).map { version($0) }
        return [
            "releases": releases, "pods": pods, "rollback_seconds": plan.rollbackSeconds, "upgrade_seconds": plan.rollbackSeconds,
            "charts": ["oci://ghcr.io/vllm-project/charts/vllm-deployment": versions],
        ]
    }

    /// The chart version an engineer's `n`th request upgrades to: each newer than the last.
    static func version(_ n: Int) -> String { "0.\(10 + n).0" }

    static func yaml(_ fakePort: Int, _ plan: Plan) -> String {
        let releases = plan.names.enumerated().map { index, name in
            "  \(name): { model: chaos-\(index + 1), environment: production, endpoint: \"http://127.0.0.1:\(fakePort)/model\", "
                + "ready_endpoint: true, chart: oci://ghcr.io/vllm-project/charts/vllm-deployment }"
        }
        return """
            server: { host: 127.0.0.1, port: 0, operator_port: 0 }
            worker: { lease_duration: \(plan.claim)s, shutdown_grace: 5s }
            cluster: { read_timeout: 20s, environment: [PYENV_ROOT] }
            slack: { api_url: "http://127.0.0.1:\(fakePort)/api", audit_channel: C0AUDIT, edit_interval: 0s, response_url_hosts: [127.0.0.1] }
            environments:
              production: { namespace: production, approvals: 0 }
            releases:
            \(releases.joined(separator: "\n"))
            roles: { deployer: { grants: [rollback, upgrade], environments: [production] } }
            members: { U0123ALICE: [deployer] }
            """
    }
}
