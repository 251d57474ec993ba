import CoxswainCore
import CoxswainStore
import Foundation
import Synchronization
import Testing

/// The watch after a change, against the real Prometheus scraping a simulated vLLM whose
/// error rate and latency the test sets. Windows are seconds here; they are configuration.
@Suite("the watch after a change", .serialized, .enabled(if: PrometheusWorld.available))
struct WatchTests {
    static let release = "llama-2-7b-production"
    /// A watch that a test breaches once it has seen the watch start: long enough that the start's
    /// post can reach the test late on a loaded machine (a breach ends the watch at once).
    static let untilBreach = "40s"

    /// Thread replies and channel posts that speak of the watch.
    static func watchPosts(_ h: Harness) async -> [Received] {
        await h.world.slackCalls("chat.postMessage").filter { $0.text.contains("atch of `\(release)`") || $0.text.contains("Watching `\(release)`") }
    }

    static func waitForPost(_ h: Harness, containing text: String, timeout: Duration = .seconds(40)) async throws -> Received {
        try await Eventually.value("a post saying \(text)", timeout: timeout) { await watchPosts(h).first { $0.text.contains(text) } }
    }

    /// Bob upgrades production to 0.3.0 and Alice approves: the usual production change.
    static func approvedUpgrade(_ h: Harness) async throws -> Job {
        let answer = try Harness.ephemeralText(try await h.command("\(release) 0.3.0", command: "/upgrade", user: "U0456BOB"))
        let id = try Harness.jobID(in: answer)
        try await h.waitFor(job: id, state: .awaitingApproval)
        _ = try await h.command("\(id)", command: "/approve", user: "U0123ALICE")
        return try await h.waitUntilSettled(job: id)
    }

    static func settledWatch(_ h: Harness, job: Int64) async throws -> ModelWatch {
        try await Eventually.value("the watch after job #\(job) to end", timeout: .seconds(40)) {
            try await h.database.watch(jobID: job).flatMap { $0.state.isFinished ? $0 : nil }
        }
    }

    @Test("a healthy window: started with the baseline, passed, audited; /jobs shows it while it runs")
    func healthy() async throws {
        try await PrometheusWorld.run { prometheus in
            try await Harness.run(extra: prometheus.yaml()) { h in
                let job = try await h.runToEnd(Self.release)
                #expect(job.state == .succeeded)
                let started = try await Self.waitForPost(h, containing: "👀 Watching")
                #expect(started.text.contains("error rate over 5.0% for 2s") && started.text.contains("× the baseline ("), "\(started.text)")
                #expect(started.threadTS != nil)  // in the job's thread
                let jobs = try Harness.ephemeralText(try await h.command("", command: "/jobs"))
                #expect(jobs.contains("👀 watching `\(Self.release)` after job #\(job.id) until "), "\(jobs)")
                let watch = try await Self.settledWatch(h, job: job.id)
                #expect(watch.state == .healthy, "\(watch)")
                #expect(watch.baselineP95.map { $0 > 0.2 && $0 < 0.3 } == true, "baseline \(String(describing: watch.baselineP95))")
                #expect(watch.judged >= 3)
                let passed = try await Self.waitForPost(h, containing: "✅ Watch of")
                #expect(passed.text.contains("worst error rate 0.0%"), "\(passed.text)")
                let events = try await h.auditEvents(job: job.id)
                #expect(events.contains("watch.started") && events.contains("watch.healthy"), "\(events)")
                try await Self.provenGoodIsTheTarget(h, watchedJob: job)
            }
        }
    }

    /// After the watch passed, /history marks the revision the job created (6, revision 3's content), and
    /// when the release moves on (someone upgrades twice), a /rollback goes to that proven revision rather
    /// than to the newer one nobody watched, and says which rule chose it.
    static func provenGoodIsTheTarget(_ h: Harness, watchedJob job: Job) async throws {
        _ = try await h.command(release, command: "/history")
        let history = try await h.waitForResponse(containing: "History of")
        let six = history.split(separator: "\n").first { $0.hasPrefix("6 ") } ?? ""
        #expect(six.contains("job #\(job.id)") && six.hasSuffix("passed"), "\(history)")
        try h.cluster.change { state in
            var releases = state["releases"] as? [String: Any] ?? [:]
            var production = releases[release] as? [String: Any] ?? [:]
            var revisions = (production["revisions"] as? [[String: Any]] ?? []).map { revision -> [String: Any] in
                var revision = revision
                if revision["status"] as? String == "deployed" { revision["status"] = "superseded" }
                return revision
            }
            revisions.append(StandInCluster.revision(7, "superseded", chart: "vllm-deployment-0.3.1", app: "0.5.2"))
            revisions.append(StandInCluster.revision(8, "deployed", chart: "vllm-deployment-0.3.2", app: "0.5.3"))
            production["revisions"] = revisions
            releases[release] = production
            state["releases"] = releases
        }
        let second = try await h.runToEnd("\(release) the new build leaks memory")
        #expect(second.plan?.to.revision == 6 && second.plan?.rule == .passedWatch(job: job.id), "\(String(describing: second.plan))")
        let text = try await h.liveMessageText(job: second)
        #expect(text.contains("target: the newest revision that passed a watch after its change (job #\(job.id))"), "\(text)")
        #expect(second.state == .succeeded, "\(text)")
    }

    @Test("errors after an upgrade: a breach with the figures and a button; the click asks for approval, the approved rollback runs")
    func errorBreach() async throws {
        try await PrometheusWorld.run { prometheus in
            let yaml = prometheus.yaml(duration: Self.untilBreach)
            try await Harness.run(cluster: UpgradeTests.cluster(), approvals: 1, access: UpgradeTests.accessWithoutStaging, extra: yaml) { h in
                let upgrade = try await Self.approvedUpgrade(h)
                #expect(upgrade.state == .succeeded, "\(upgrade.outcome ?? "")")
                _ = try await Self.waitForPost(h, containing: "👀 Watching")
                prometheus.traffic.set(errorFraction: 0.3)
                let breach = try await Self.waitForPost(h, containing: "🔴 Watch of")
                #expect(breach.text.contains("error rate ") && breach.text.contains("%, over 5.0% since"), "\(breach.text)")
                let watch = try await Self.settledWatch(h, job: upgrade.id)
                #expect(watch.state == .breached && watch.revisionBefore == 5)
                let inChannel = try await Eventually.value("the breach in the channel") {
                    await Self.watchPosts(h).first { $0.threadTS == nil && $0.text.contains("🔴") }
                }
                #expect(inChannel.text.contains("Roll back to revision 5"))
                let buttons =
                    (inChannel.json["blocks"] as? [any Sendable])?.compactMap { $0 as? [String: any Sendable] }
                    .first { $0["type"] as? String == "actions" }?["elements"] as? [any Sendable]
                #expect((buttons?.first as? [String: any Sendable])?["value"] as? String == "\(upgrade.id):\(Self.release):5:watch")
                prometheus.traffic.set(errorFraction: 0)
                // Bob clicks; the rollback is a production change like any other: Alice approves it.
                _ = try await h.click("rollback", value: "\(upgrade.id):\(Self.release):5:watch", user: "U0456BOB")
                let rollbackID = try await h.waitForNewJob(after: upgrade.id)
                try await h.waitFor(job: rollbackID, state: .awaitingApproval)
                _ = try await h.command("\(rollbackID)", command: "/approve", user: "U0123ALICE")
                let rollback = try await h.waitUntilSettled(job: rollbackID)
                #expect(rollback.state == .succeeded && rollback.request.revision == 5, "\(rollback.outcome ?? "")")
                #expect(rollback.request.requestedBy == "U0456BOB" && rollback.request.reason == "watch breach after job #\(upgrade.id)")
                #expect(try await h.auditEvents(job: upgrade.id).contains("watch.breach"))
            }
        }
    }

    @Test("P95 over twice the baseline after a rollback: a breach that says so, and no button (nothing safe to go back to)")
    func latencyBreach() async throws {
        try await PrometheusWorld.run { prometheus in
            try await Harness.run(extra: prometheus.yaml(duration: Self.untilBreach)) { h in
                let job = try await h.runToEnd(Self.release)
                _ = try await Self.waitForPost(h, containing: "👀 Watching")
                prometheus.traffic.set(latency: 1.2)
                let breach = try await Self.waitForPost(h, containing: "🔴 Watch of")
                #expect(breach.text.contains("P95 latency") && breach.text.contains("over 2× the baseline"), "\(breach.text)")
                #expect(breach.text.contains("This change was a rollback"))
                #expect(try await Self.settledWatch(h, job: job.id).state == .breached)
            }
        }
    }

    @Test("watch.auto_rollback: the breach starts the rollback by itself, requested by Coxswain, without approval, audited")
    func autoRollback() async throws {
        try await PrometheusWorld.run { prometheus in
            let yaml = prometheus.yaml(duration: Self.untilBreach, watch: ", auto_rollback: true")
            try await Harness.run(cluster: UpgradeTests.cluster(), approvals: 1, access: UpgradeTests.accessWithoutStaging, extra: yaml) { h in
                let upgrade = try await Self.approvedUpgrade(h)
                _ = try await Self.waitForPost(h, containing: "👀 Watching")
                prometheus.traffic.set(errorFraction: 1)
                let breach = try await Self.waitForPost(h, containing: "🔴 Watch of")
                #expect(breach.text.contains("Rolling back to revision 5 by itself"))
                let rollback = try await h.waitUntilSettled(job: try await h.waitForNewJob(after: upgrade.id))
                // Production needs an approval; the configuration's opt-in stands for it.
                #expect(rollback.request.requestedBy == "coxswain" && rollback.request.revision == 5 && rollback.approvalsRequired == 0)
                #expect(rollback.state == .succeeded, "\(rollback.outcome ?? "")")
                #expect(try await h.auditEvents(job: rollback.id).contains("job.requested"))
            }
        }
    }

    @Test("an older vLLM: the KV cache read under its older name, said in the thread; full for its span, a breach with the figures")
    func kvCacheUnderTheOlderName() async throws {
        try await PrometheusWorld.run(names: .older) { prometheus in
            let serving = ", kv_cache_usage_over: 90%, kv_cache_usage_for: 2s, requests_waiting_over: 50, requests_waiting_for: 2s"
            // The cache's figure is an average over rate_window: it takes that long to reach the limit.
            try await Harness.run(extra: prometheus.yaml(duration: "20s", watch: serving)) { h in
                prometheus.traffic.set(waiting: 3)
                let job = try await h.runToEnd(Self.release)
                let started = try await Self.waitForPost(h, containing: "👀 Watching")
                #expect(started.text.contains("requests waiting over 50 for 2s, KV-cache usage over 90.0% for 2s, or a complete outage"), "\(started.text)")
                let sources = try await Self.waitForPost(h, containing: "📏 Watch of")
                #expect(
                    sources.text.contains("requests waiting from `vllm:num_requests_waiting`; KV-cache usage from `vllm:gpu_cache_usage_perc` "
                        + "(vLLM's older name; `vllm:kv_cache_usage_perc` has no data)"), "\(sources.text)")
                prometheus.traffic.set(kvCache: 0.97)
                let breach = try await Self.waitForPost(h, containing: "🔴 Watch of")
                #expect(breach.text.contains("KV-cache usage 97.0%, over 90.0% since"), "\(breach.text)")
                #expect(breach.text.contains("requests waiting 3, KV-cache usage 97.0%"), "\(breach.text)")
                let watch = try await Self.settledWatch(h, job: job.id)
                #expect(watch.state == .breached && watch[.kvCacheUsage]?.source == "vllm:gpu_cache_usage_perc", "\(watch)")
                let events = try await h.auditEvents(job: job.id)
                #expect(events.contains("watch.metrics") && events.contains("watch.breach"), "\(events)")
            }
        }
    }

    @Test("time to first token over twice its baseline: a breach; inter-token latency read under vLLM's current name, and within its limit")
    func timeToFirstToken() async throws {
        try await PrometheusWorld.run { prometheus in
            let serving = ", time_to_first_token_factor: 2, time_to_first_token_for: 2s, inter_token_latency_factor: 2, inter_token_latency_for: 2s"
            try await Harness.run(extra: prometheus.yaml(duration: "15s", watch: serving)) { h in
                let job = try await h.runToEnd(Self.release)
                let started = try await Self.waitForPost(h, containing: "👀 Watching")
                #expect(started.text.contains("time to first token P95 over 2× the baseline ("), "\(started.text)")
                #expect(started.text.contains("inter-token latency P95 over 2× the baseline ("), "\(started.text)")
                let sources = try await Self.waitForPost(h, containing: "📏 Watch of")
                #expect(sources.text.contains("inter-token latency P95 from `vllm:inter_token_latency_seconds`") && !sources.text.contains("older"))
                prometheus.traffic.set(timeToFirstToken: 0.5)
                let breach = try await Self.waitForPost(h, containing: "🔴 Watch of")
                #expect(breach.text.contains("time to first token P95") && breach.text.contains("over 2× the baseline"), "\(breach.text)")
                let watch = try await Self.settledWatch(h, job: job.id)
                let baseline = try #require(watch[.timeToFirstToken]?.baseline)
                #expect(baseline > 0.06 && baseline < 0.08 && watch[.interTokenLatency]?.baseline != nil, "\(watch)")
                #expect(watch.state == .breached && watch[.interTokenLatency]?.since == nil)
            }
        }
    }

    @Test("Prometheus down: inconclusive, said once, never a breach")
    func prometheusDown() async throws {
        try await PrometheusWorld.run { prometheus in
            try await Harness.run(extra: prometheus.yaml()) { h in
                let job = try await h.runToEnd(Self.release)
                _ = try await Self.waitForPost(h, containing: "👀 Watching")
                prometheus.stop()
                let post = try await Self.waitForPost(h, containing: "cannot judge: Prometheus did not answer")
                #expect(post.threadTS != nil)
                let watch = try await Self.settledWatch(h, job: job.id)
                #expect(watch.state == .inconclusive)
                #expect(await Self.watchPosts(h).filter { $0.text.contains("cannot judge") }.count == 1)
                _ = try await Self.waitForPost(h, containing: "ended inconclusive")
            }
        }
    }

    @Test("no traffic: too few requests to judge is inconclusive, not healthy and not a breach")
    func noTraffic() async throws {
        try await PrometheusWorld.run { prometheus in
            try await Harness.run(extra: prometheus.yaml()) { h in
                prometheus.traffic.set(perSecond: 0)
                try await Eventually.until("Prometheus to see no requests") {
                    try await prometheus.value("sum(increase(http_requests_total[5s]))") == 0
                }
                let job = try await h.runToEnd(Self.release)
                let watch = try await Self.settledWatch(h, job: job.id)
                #expect(watch.state == .inconclusive && watch.judged == 0, "\(watch)")
                let post = try await Self.waitForPost(h, containing: "ended inconclusive")
                #expect(post.text.contains("too few requests to judge"), "\(post.text)")
            }
        }
    }

    @Test("/watch on demand: answered at once, a second one refused, the verdict in the channel it was asked in")
    func onDemand() async throws {
        try await PrometheusWorld.run { prometheus in
            try await Harness.run(extra: prometheus.yaml()) { h in
                let answer = try Harness.ephemeralText(try await h.command("\(Self.release) 6s", command: "/watch"))
                #expect(answer.contains("👀 Watching `\(Self.release)` on Prometheus for 6s; the verdict follows in this channel."), "\(answer)")
                let again = try Harness.ephemeralText(try await h.command(Self.release, command: "/watch"))
                #expect(again.contains("is already being watched"), "\(again)")
                let jobs = try Harness.ephemeralText(try await h.command("", command: "/jobs"))
                #expect(jobs.contains("👀 watching `\(Self.release)` for <@U0123ALICE> until "), "\(jobs)")
                let passed = try await Self.waitForPost(h, containing: "✅ Watch of")
                #expect(passed.channel == "C0OPS" && passed.threadTS == nil)
                #expect(passed.text.contains("(baseline "), "\(passed.text)")
            }
        }
    }

    @Test("a restart during a watch: the next server resumes it and ends it")
    func restart() async throws {
        try await PrometheusWorld.run { prometheus in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
            let database = try AppDatabase.open(path: path)
            let watched = Mutex<Int64?>(nil)
            try await Harness.run(database: database, extra: prometheus.yaml()) { h in
                let job = try await h.runToEnd(Self.release)
                _ = try await Self.waitForPost(h, containing: "👀 Watching")
                watched.withLock { $0 = job.id }
            }
            let first = try #require(watched.withLock { $0 })
            #expect(try await database.watch(jobID: first)?.state == .watching)
            try await Harness.run(database: database, extra: prometheus.yaml()) { h in
                let watch = try await Self.settledWatch(h, job: first)
                #expect(watch.state == .healthy, "\(watch)")
                #expect(try await h.auditEvents(job: first).filter { $0 == "watch.started" }.count == 1)
            }
        }
    }
}

/// `/watch` where it cannot run or is asked wrongly: said, and nothing stored.
@Suite("the /watch command")
struct WatchCommandTests {
    @Test("without prometheus: configured, bad durations, no release, someone who may not read")
    func refusals() async throws {
        try await Harness.run(access: ApprovalTests.access) { h in
            let cases: [(text: String, user: String, says: String)] = [
                ("llama-2-7b-production", "U0123ALICE", "Coxswain cannot watch: its configuration has no `prometheus:`"),
                ("llama-2-7b-production 2d", "U0123ALICE", "is not a duration up to 24h, such as 30m or 1h30m"),
                ("", "U0123ALICE", "needs a release and at most a duration"),
                ("nope-release", "U0123ALICE", "does not know a release `nope-release`"),
                ("llama-2-7b-production", "U0456BOB", "may not read in `production`"),
            ]
            for item in cases {
                let answer = try Harness.ephemeralText(try await h.command(item.text, command: "/watch", user: item.user))
                #expect(answer.contains(item.says), "\(item.text): \(answer)")
            }
            #expect(try await h.database.activeWatches().isEmpty)
        }
    }
}
