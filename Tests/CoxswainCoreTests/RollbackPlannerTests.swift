import CoxswainCore
import Foundation
import Testing

@Suite struct RollbackPlannerTests {
    func rev(_ n: Int, _ status: String) -> HelmRevision { HelmRevision(revision: n, status: status, chart: "c-\(n)", appVersion: "\(n).0") }

    @Test("the default target skips failed revisions, unlike helm's current-minus-one")
    func skipsFailedRevisions() throws {
        let history = [rev(1, "superseded"), rev(2, "superseded"), rev(3, "failed"), rev(4, "deployed")]
        let plan = try RollbackPlanner.plan(release: "r", history: history.shuffled(), requested: nil).get()
        #expect(plan.from.revision == 4)
        #expect(plan.to.revision == 2)
        #expect(plan.shortText == "revision 4 -> 2")
    }

    @Test("the default target is the newest revision that passed a watch, then the newest that deployed; the plan says which rule chose it")
    func provenGoodFirst() throws {
        let history = [rev(1, "superseded"), rev(2, "superseded"), rev(3, "superseded"), rev(4, "deployed")]
        let proven = try RollbackPlanner.plan(release: "r", history: history, requested: nil, passedWatch: [2: 17]).get()
        #expect(proven.to.revision == 2 && proven.rule == .passedWatch(job: 17))
        #expect(proven.rule?.text.contains("passed a watch after its change (job #17)") == true)
        let unproven = try RollbackPlanner.plan(release: "r", history: history, requested: nil).get()
        #expect(unproven.to.revision == 3 && unproven.rule == .lastDeployed)
        // A proof for a revision that cannot be the target (the current one, one a rollback left) counts for nothing.
        let current = try RollbackPlanner.plan(release: "r", history: history, requested: nil, passedWatch: [4: 20]).get()
        #expect(current.to.revision == 3 && current.rule == .lastDeployed)
        #expect(try RollbackPlanner.plan(release: "r", history: history, requested: 1, passedWatch: [2: 17]).get().rule == .requested)
    }

    @Test("a rollback that carried a revision's content and passed its watch proves that content; the newest copy is the target")
    func provenThroughALineage() throws {
        let history = [
            rev(1, "superseded"), rev(2, "superseded"), rev(3, "superseded"),
            HelmRevision(revision: 4, status: "superseded", chart: "c-1", appVersion: "1.0", description: "Rollback to 1"), rev(5, "deployed"),
        ]
        let plan = try RollbackPlanner.plan(release: "r", history: history, requested: nil, passedWatch: [4: 30]).get()
        #expect(plan.to.revision == 4 && plan.rule == .passedWatch(job: 30))
        // A plan stored before the rule was recorded still reads back.
        let old = RollbackPlan(from: rev(5, "deployed"), to: rev(4, "superseded")).json
        #expect(!old.contains("rule"))
        #expect(RollbackPlan(json: old)?.rule == nil && RollbackPlan(json: old)?.to.revision == 4)
        #expect(RollbackPlan(json: plan.json) == plan, "the rule is kept with the plan")
    }

    @Test func aNamedRevisionIsUsedAsIs() throws {
        let plan = try RollbackPlanner.plan(release: "r", history: [rev(1, "superseded"), rev(2, "failed"), rev(3, "deployed")], requested: 2).get()
        #expect(plan.to.revision == 2)
    }

    @Test func refusals() {
        #expect(RollbackPlanner.plan(release: "r", history: [rev(1, "deployed")], requested: nil) == .failure(.onlyOneRevision(release: "r", revision: 1)))
        #expect(RollbackPlanner.plan(release: "r", history: [], requested: nil) == .failure(.noHistory(release: "r")))
        let history = [rev(1, "superseded"), rev(2, "deployed")]
        #expect(RollbackPlanner.plan(release: "r", history: history, requested: 7) == .failure(.targetMissing(release: "r", requested: 7, available: [1, 2])))
        #expect(RollbackPlanner.plan(release: "r", history: history, requested: 2) == .failure(.targetIsCurrent(release: "r", revision: 2)))
        #expect(
            RollbackPlanner.plan(release: "r", history: [rev(1, "failed"), rev(2, "deployed")], requested: nil)
                == .failure(.noSuccessfulEarlierRevision(release: "r", current: 2, available: [1, 2])))
        #expect(RollbackRefusal.onlyOneRevision(release: "r", revision: 1).message.contains("already at the first revision; fix forward with an upgrade"))
    }

    func rev(_ n: Int, _ status: String, _ description: String) -> HelmRevision {
        HelmRevision(revision: n, status: status, chart: "c-\(n)", appVersion: "\(n).0", description: description)
    }

    struct LastGoodCase: Sendable, CustomTestStringConvertible {
        var name: String
        var lines: [String]
        var coxswain: Set<Int>
        var expected: Int?
        init(_ name: String, _ lines: [String], _ coxswain: Set<Int>, _ expected: Int?) {
            self.name = name; self.lines = lines; self.coxswain = coxswain; self.expected = expected
        }
        var testDescription: String { name }
    }

    /// "Last good" never means a revision that a rollback left, nor what already runs.
    @Test(arguments: [
        // The issue's case: 3 (bad) was rolled back to 1 (revision 4); a second automatic
        // rollback has nothing left to go to, rather than going "back" to 3.
        LastGoodCase(
            "issue", ["1 superseded Install complete", "2 failed Upgrade failed", "3 superseded Upgrade complete", "4 deployed Rollback to 1"], [], nil),
        // Same, learned from Coxswain's own records instead of helm's description.
        LastGoodCase(
            "records", ["1 superseded Install complete", "2 superseded Upgrade complete", "3 superseded Upgrade complete", "4 deployed Upgrade complete"], [3],
            2),
        // A rollback of a rollback: 5 carries 2's content and 4 was rolled back from: the target
        // is 3, which carries 1's content.
        LastGoodCase(
            "chain",
            [
                "1 superseded Install", "2 superseded Upgrade", "3 superseded Rollback to 1", "4 superseded Upgrade",
                "5 deployed Rollback to 2",
            ], [], 3),
        // pending-upgrade and failed revisions are never targets.
        LastGoodCase("pending", ["1 superseded Install", "2 superseded Upgrade", "3 pending-upgrade Preparing upgrade", "4 deployed Upgrade"], [], 2),
        LastGoodCase("failed", ["1 superseded Install", "2 superseded Upgrade", "3 failed Upgrade failed", "4 deployed Upgrade"], [], 2),
    ])
    func lastGoodSkipsWhatRollbacksLeft(_ test: LastGoodCase) throws {
        let history = test.lines.map { line -> HelmRevision in
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            return rev(Int(parts[0]) ?? 0, parts[1], parts[2])
        }
        let plan = RollbackPlanner.plan(release: "r", history: history, requested: nil, rolledBackFrom: test.coxswain)
        #expect((try? plan.get())?.to.revision == test.expected)
    }

    @Test("an explicit revision the release already runs (through a rollback to it) is refused")
    func explicitTargetAlreadyRunning() {
        let history = [rev(1, "superseded", "Install"), rev(2, "superseded", "Upgrade"), rev(3, "deployed", "Rollback to 1")]
        #expect(RollbackPlanner.plan(release: "r", history: history, requested: 1) == .failure(.targetIsCurrent(release: "r", revision: 1)))
        #expect((try? RollbackPlanner.plan(release: "r", history: history, requested: 2).get())?.to.revision == 2)
    }

    @Test func decodesHelmHistoryJSON() throws {
        let json =
            #"[{"revision":1,"updated":"2026-11-20T10:00:00.1+00:00","status":"superseded","chart":"vllm-deployment-0.1.0","#
            + #""app_version":"0.3.0","description":"Install complete"}]"#
        let revisions = try JSONDecoder().decode([HelmRevision].self, from: Data(json.utf8))
        #expect(
            revisions == [
                HelmRevision(
                    revision: 1, updated: "2026-11-20T10:00:00.1+00:00", status: "superseded",
                    chart: "vllm-deployment-0.1.0", appVersion: "0.3.0", description: "Install complete")
            ])
    }
}

@Suite struct PodReportTests {
    @Test func readsReadinessRestartsAndWaitingReasons() throws {
        let json = #"""
            {"apiVersion":"v1","kind":"List","items":[
              {"metadata":{"name":"a"},"spec":{"containers":[{"name":"vllm"}]},"status":{"phase":"Running",
                "containerStatuses":[{"name":"vllm","ready":true,"restartCount":0,"state":{"running":{}}}]}},
              {"metadata":{"name":"b"},"spec":{"containers":[{"name":"vllm"}]},"status":{"phase":"Running",
                "containerStatuses":[{"name":"vllm","ready":false,"restartCount":5,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
                "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137}}}]}},
              {"metadata":{"name":"c"},"spec":{"containers":[{"name":"vllm"}]},"status":{"phase":"Pending"}}
            ]}
            """#
        let report = try PodReport(kubectlJSON: Data(json.utf8))
        #expect(report.readyCount == 1)
        #expect(report.pods.map(\.problem) == [nil, "CrashLoopBackOff (OOMKilled)", "Pending"])
        #expect(report.pods[2].totalContainers == 1)
        #expect(report.summary == "1/3 ready, 5 restarts, CrashLoopBackOff (OOMKilled)")
        let hint = Troubleshooting.hint(forPodProblem: report.mainProblem, release: "r", namespace: "ns")
        #expect(hint.plainText.contains("kubectl logs POD -n ns --previous"))
        #expect(Troubleshooting.hint(forPodProblem: "Pending", release: "r", namespace: "ns").plainText.contains("GPU capacity"))
        #expect(Troubleshooting.hint(forPodProblem: "ErrImagePull", release: "r", namespace: "ns").plainText.contains("Failed to pull image"))
    }

    @Test func judgesProbes() throws {
        #expect(ProbeEvaluation.judge(path: "/health", statusCode: 200, body: Data()) == nil)
        #expect(ProbeEvaluation.judge(path: "/health", statusCode: 200, body: Data(#"{"status": "ok"}"#.utf8)) == nil)
        #expect(ProbeEvaluation.judge(path: "/health", statusCode: 200, body: Data(#"{"status": "degraded"}"#.utf8)) != nil)
        #expect(ProbeEvaluation.judge(path: "/ready", statusCode: 200, body: Data(#"{"status": "ready"}"#.utf8)) == nil)
        #expect(ProbeEvaluation.judge(path: "/health", statusCode: 503, body: Data()) == "GET /health answered HTTP 503")
        let text = try ProbeEvaluation.completionText(statusCode: 200, body: Data(#"{"choices":[{"text":" fine"}]}"#.utf8)).get()
        #expect(text == " fine")
        #expect((try? ProbeEvaluation.completionText(statusCode: 200, body: Data(#"{"choices":[]}"#.utf8)).get()) == nil)
    }

    @Test("the served model: listed by /v1/models, with the configured max_model_len when there is one; otherwise both names said")
    func judgesServedModel() throws {
        let list = Data(#"{"object":"list","data":[{"id":"llama-2-7b","object":"model","max_model_len":4096},{"id":"lora-a","object":"model"}]}"#.utf8)
        func served(_ model: String, _ length: Int? = nil) throws -> String {
            try ProbeEvaluation.servedModel(statusCode: 200, body: list, expected: model, maxModelLen: length).get()
        }
        #expect(try served("llama-2-7b") == "llama-2-7b (max_model_len 4096)")
        #expect(try served("llama-2-7b", 4096) == "llama-2-7b (max_model_len 4096)")
        #expect(try served("lora-a") == "lora-a")
        func problem(_ body: Data, _ model: String, _ length: Int? = nil, status: Int = 200) -> String {
            let verdict = ProbeEvaluation.servedModel(statusCode: status, body: body, expected: model, maxModelLen: length)
            guard case .failure(let problem) = verdict else { return "" }
            return problem.description
        }
        #expect(problem(list, "llama-2-13b") == "the server serves `llama-2-7b`, `lora-a`, not `llama-2-13b`, the model the release is configured for")
        #expect(problem(list, "llama-2-7b", 8192) == "`llama-2-7b` is served with max_model_len 4096, but the release expects 8192")
        #expect(problem(list, "lora-a", 2048).contains("does not give its max_model_len"))
        #expect(problem(Data(#"{"object":"list","data":[]}"#.utf8), "m") == "the server serves no model, not `m`, the model the release is configured for")
        #expect(problem(Data("Not Found".utf8), "m", status: 404) == "GET /v1/models answered HTTP 404: Not Found")
        #expect(problem(Data("[]".utf8), "m").contains("without a list of models"))
    }
}
