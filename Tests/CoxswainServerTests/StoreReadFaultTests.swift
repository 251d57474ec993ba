import CoxswainCore
import CoxswainStore
import Foundation
import GRDB
import Testing

/// Reads whose answer decides what happens to a release fail closed: when Coxswain cannot
/// read its own records (here a table gone missing from under the running server), the step
/// ends with an error that says so and nothing is changed, instead of planning as if there
/// were nothing to read.
@Suite("failed reads change nothing", .serialized)
struct StoreReadFaultTests {
    static let release = "llama-2-7b-production"

    static func fileDatabase() throws -> (AppDatabase, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-readfault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("coxswain.sqlite").path
        return (try AppDatabase.open(path: path), path)
    }

    /// Renames a table behind the server's back: every statement reading it fails ("no such table").
    /// Waits its turn as another process would: the server may be writing (its lease, start-up's
    /// housekeeping) at that moment, for longer on a loaded machine.
    static func hide(_ table: String, in path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.write { try $0.execute(sql: "ALTER TABLE \(table) RENAME TO hidden_\(table)") }
        try queue.close()
    }

    @Test(
        "what planning reads cannot be read (revisions rollbacks left, revisions that passed a watch): the step fails, nothing changed",
        arguments: [("rolledBackFrom", "which revisions earlier rollbacks left"), ("watch", "which revisions passed a watch")])
    func planningReadsUnreadable(table: String, what: String) async throws {
        let (database, path) = try Self.fileDatabase()
        try await Harness.run(database: database) { h in
            try Self.hide(table, in: path)
            let job = try await h.runToEnd("\(Self.release) pods OOM")
            #expect(job.state == .failed)
            let history = try #require(job.steps.first)
            #expect(history.action == "helm.history" && history.status == .failed)
            #expect(job.outcome?.contains("could not read \(what)") == true, "\(job.outcome ?? "")")
            #expect(job.outcome?.contains("nothing was changed") == true)
            #expect(job.steps.count == 1)
            #expect(try Harness.rollbackCalls(h).isEmpty)
            #expect(try await h.registryStatus() == .ready)
            #expect(try await h.liveMessageText(job: job).contains("could not read \(what)"))
        }
    }

    @Test("the release moved and the jobs that moved it cannot be read: the step fails instead of guessing who moved it")
    func createdRevisionUnreadable() async throws {
        let (database, path) = try Self.fileDatabase()
        try await Harness.run(database: database, approvals: 1, access: ApprovalTests.access) { h in
            let id = try await ApprovalTests.requestAndWait(h)
            try h.cluster.change { state in
                var releases = state["releases"] as! [String: Any]
                var release = releases[Self.release] as! [String: Any]
                var revisions = (release["revisions"] as! [[String: Any]]).map { revision -> [String: Any] in
                    var revision = revision
                    if revision["status"] as? String == "deployed" { revision["status"] = "superseded" }
                    return revision
                }
                revisions.append(StandInCluster.revision(6, "deployed", chart: "vllm-deployment-0.3.1", app: "0.5.2"))
                release["revisions"] = revisions
                releases[Self.release] = release
                state["releases"] = releases
            }
            try Self.hide("createdRevision", in: path)
            _ = try await h.click("approve", value: "\(id):5->3", user: "U0789CAROL")
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .failed, "\(job.state)")
            #expect(job.outcome?.contains("could not read which jobs made the release's recent revisions") == true, "\(job.outcome ?? "")")
            #expect(try Harness.rollbackCalls(h).isEmpty)
            #expect(try await h.registryStatus() == .ready)
        }
    }

    @Test("coxswain jobs show cannot read a job's messages: it says so and exits 1, instead of listing none")
    func jobsShowSaysWhy() async throws {
        let (database, path) = try Self.fileDatabase()
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let config = folder.appendingPathComponent("coxswain.yaml")
        try await Harness.run(database: database) { h in
            _ = try await h.runToEnd("\(Self.release) pods OOM")
            try
                (Harness.configurationYAML(fakePort: h.fakePort, completionSLO: nil, approvals: 0, access: Harness.legacyUsers)
                + "\ndatabase: \(path)\ncommands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)\n")
                .write(to: config, atomically: true, encoding: .utf8)
        }
        let shown = try await CLITests.run(["jobs", "show", "1", "--config", config.path])
        #expect(shown.status == 0 && shown.out.contains("messages:") && shown.out.contains("live message"), "\(shown.out)\(shown.err)")
        try Self.hide("notice", in: path)
        let failed = try await CLITests.run(["jobs", "show", "1", "--config", config.path])
        #expect(failed.status == 1, "\(failed.out)")
        #expect(failed.err.contains("read messages") && failed.err.contains("no such table: notice"), "\(failed.err)")
    }
}
