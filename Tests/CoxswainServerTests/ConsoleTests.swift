import CoxswainChat
import CoxswainCore
import CoxswainStore
import Foundation
import Testing

/// Slack is often part of the incident: `coxswain shell` runs the same runbooks with the
/// same permissions, approvals and audit trail from a terminal, against the running server.
@Suite("the console front end", .serialized)
struct ConsoleTests {
    static let release = "llama-2-7b-production"
    static let access = """
        roles:
          oncall: { grants: [rollback, emergency], environments: [development, production] }
          approver: { grants: [approve], environments: [production] }
        members: { U0123ALICE: [oncall], U0789CAROL: [approver] }
        """

    /// A file database (the CLI issues tokens into it) and a configuration naming it.
    static func setUp() throws -> (AppDatabase, String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("coxswain.sqlite").path
        return (try AppDatabase.open(path: path), path)
    }

    /// Issues a token with `coxswain users token` and keeps it in a file only its owner reads.
    static func token(for user: String, database: String, h: Harness) async throws -> String {
        let config = URL(fileURLWithPath: database).deletingLastPathComponent().appendingPathComponent("cli.yaml")
        try
            (Harness.configurationYAML(fakePort: h.fakePort, completionSLO: nil, approvals: 1, access: access, channels: ["C0OPS", "console"])
            + "\ndatabase: \(database)\ncommands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)\n")
            .write(to: config, atomically: true, encoding: .utf8)
        let issued = try await CLITests.run(["users", "token", user, "--config", config.path])
        #expect(issued.status == 0, "\(issued.err)")
        #expect(issued.err.contains("shown only now"))
        let file = URL(fileURLWithPath: database).deletingLastPathComponent().appendingPathComponent("token-\(user)")
        try issued.out.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    static func shell(_ user: String, tokenFile: String, h: Harness) async throws -> ConsoleProcess {
        let port = try await Eventually.value("the operators' listener") { h.operatorPort }
        return try ConsoleProcess.start(["shell", "--as", user, "--token-file", tokenFile, "--server", "http://127.0.0.1:\(port)"])
    }

    @Test("Slack answering 503 throughout: a production rollback is requested in one shell, approved in another, run, audited; Slack hears it after")
    func productionRollbackWhileSlackIsDown() async throws {
        let (database, path) = try Self.setUp()
        try await Harness.run(database: database, approvals: 1, access: Self.access, channels: ["C0OPS", "console"]) { h in
            await h.world.set(serverErrors: true, outageStatus: 503)
            let alice = try await Self.shell("U0123ALICE", tokenFile: try await Self.token(for: "U0123ALICE", database: path, h: h), h: h)
            try await alice.waitFor("Coxswain console as @U0123ALICE")
            alice.type("rollback \(Self.release) pods OOM after upgrade")
            let asked = try await alice.waitFor("Waiting for approval")
            let id = try Harness.jobID(in: asked)
            try await alice.waitFor("type 'approve \(id)'")

            let carol = try await Self.shell("U0789CAROL", tokenFile: try await Self.token(for: "U0789CAROL", database: path, h: h), h: h)
            carol.type("approve \(id)")
            try await carol.waitFor("Job #\(id) is approved and runs now")
            // Alice sees it run, step by step, to its result.
            let done = try await alice.waitFor("Result: rolled back", timeout: .seconds(90))
            #expect(done.contains("✅ Helm rollback") && done.contains("✅ Re-enable model in registry"))
            // Slack is still down, so only the job (not its messages) can have settled.
            let job = try await Eventually.value("job #\(id) to finish") { try await h.database.job(id: id).flatMap { $0.state.isFinished ? $0 : nil } }
            #expect(job.state == .succeeded && job.request.platform == "console")
            let events = try await h.auditEvents(job: id)
            for event in ["job.requested", "approval.requested", "approval.approve", "approval.verified", "job.succeeded"] { #expect(events.contains(event)) }
            #expect(try await h.database.entries(jobID: id).first { $0.event == "approval.approve" }?.actor == "U0789CAROL")
            #expect(await h.world.slackCalls("chat.postMessage").isEmpty)  // Slack answered 503 to everything
            // Slack comes back: the team sees what happened meanwhile.
            await h.world.set(serverErrors: false)
            _ = try await h.waitUntilSettled(job: id)
            let live = try await h.liveMessageText(job: job)
            #expect(live.contains("*Result:* rolled back"))
            #expect(await h.world.slackCalls("chat.postMessage").contains { $0.channel == "C0AUDIT" && $0.text.contains("Job #\(id)") })
            #expect(try await alice.close() == 0)
            _ = try await carol.close()
        }
    }

    @Test("break-glass from the shell: no approval, audited as loudly as from Slack")
    func breakGlassFromTheShell() async throws {
        let (database, path) = try Self.setUp()
        try await Harness.run(database: database, approvals: 1, access: Self.access, channels: ["C0OPS", "console"]) { h in
            await h.world.set(serverErrors: true, outageStatus: 503)
            let alice = try await Self.shell("U0123ALICE", tokenFile: try await Self.token(for: "U0123ALICE", database: path, h: h), h: h)
            alice.type("rollback \(Self.release) --emergency error rate 40%")
            let id = try Harness.jobID(in: try await alice.waitFor("Break-glass"))
            try await alice.waitFor("Result: rolled back")
            #expect(try Harness.rollbackCalls(h) == [["helm", "rollback", Self.release, "3", "-n", "production"]])
            #expect(try await h.auditEvents(job: id).contains("emergency.invoked"))
            await h.world.set(serverErrors: false)
            _ = try await h.waitUntilSettled(job: id)
            #expect(await h.world.slackCalls("chat.postMessage").contains { $0.channel == "C0AUDIT" && $0.text.contains("BREAK-GLASS") })
            _ = try await alice.close()
        }
    }

    @Test("without a valid token nothing runs; the channel rule applies to the console")
    func identity() async throws {
        let (database, path) = try Self.setUp()
        try await Harness.run(database: database, approvals: 1, access: Self.access, channels: ["C0OPS"]) { h in
            let forged = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("forged")
            try "0123456789abcdef".write(to: forged, atomically: true, encoding: .utf8)
            let mallory = try await Self.shell("U0123ALICE", tokenFile: forged.path, h: h)
            mallory.type("rollback \(Self.release) --emergency now")
            try await mallory.waitFor("Coxswain answered 401")
            // A real token, but production takes commands only from #C0OPS, not from the console.
            let alice = try await Self.shell("U0123ALICE", tokenFile: try await Self.token(for: "U0123ALICE", database: path, h: h), h: h)
            alice.type("rollback \(Self.release) --emergency now")
            try await alice.waitFor("accepted only from #C0OPS")
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
            #expect(try h.cluster.calls().isEmpty)
            _ = try await mallory.close()
            _ = try await alice.close()
        }
    }

    @Test("coxswain run for scripts: follows the job, and the exit status says how it ended")
    func runForScripts() async throws {
        let (database, path) = try Self.setUp()
        var cluster = StandInCluster.standardRelease()
        var releases = cluster["releases"] as! [String: Any]
        let pod = StandInCluster.pod("llama-2-7b-development-5d6f7-k2m4x", release: "llama-2-7b-development", namespace: "system", ready: true)
        releases["llama-2-7b-development"] = [
            "namespace": "system", "pods_after_rollback": [pod],
            "revisions": [StandInCluster.revision(1, "superseded"), StandInCluster.revision(2, "deployed")],
        ]
        cluster["releases"] = releases
        try await Harness.run(cluster: cluster, database: database, approvals: 1, access: Self.access, channels: ["C0OPS", "console"]) { h in
            let token = try await Self.token(for: "U0123ALICE", database: path, h: h)
            let port = try await Eventually.value("the operators' listener") { h.operatorPort }
            let server = ["--as", "U0123ALICE", "--token-file", token, "--server", "http://127.0.0.1:\(port)"]
            let good = try await CLITests.run(["run", "rollback llama-2-7b-development"] + server)
            #expect(good.status == 0, "\(good.out)\(good.err)")
            #expect(good.out.contains("Result: rolled back"))
            let refused = try await CLITests.run(["run", "rollback llama-70b"] + server)
            #expect(refused.status == 2 && refused.out.contains("does not know a release"))
            let help = try await CLITests.run(["run", "help"] + server)
            #expect(help.status == 0 && help.out.contains("rollback RELEASE [REVISION]") && !help.out.contains("/rollback"))
        }
    }
}
