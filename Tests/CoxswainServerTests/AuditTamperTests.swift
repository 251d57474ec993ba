import CoxswainAudit
import CoxswainChat
import CoxswainCore
import CoxswainHTTP
import CoxswainStore
import Foundation
import GRDB
import Testing

/// The audit trail a real `coxswain serve` wrote and signed, tampered with as someone who can
/// write the database file would (dropping the append-only triggers first), and checked with
/// `coxswain audit verify` as an auditor runs it.
@Suite("audit trail tampering", .serialized)
struct AuditTamperTests {
    /// A trail written by the server: a rollback (a checkpoint when it ends), registry changes
    /// by the CLI, then a stop (a checkpoint of the rest). Made once for all the cases.
    struct Trail {
        let folder: URL
        let database: String
        let publicKey: String
        let checkpoints: String
        let entries: Int64
    }

    static let trail = Task<Trail, any Error> { try await write() }

    static func write() async throws -> Trail {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let keyFile = folder.appendingPathComponent("audit-signing.key").path
        let keygen = try await CLITests.run(["audit", "keygen", "--out", keyFile])
        try check(keygen.status == 0, "\(keygen.err)")
        let publicKey = keygen.out.split(separator: "\n").last.map(String.init) ?? ""
        let again = try await CLITests.run(["audit", "keygen", "--out", keyFile])
        try check(again.status != 0 && again.err.contains("never replaced"), again.err)
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        try check((attributes[.posixPermissions] as? Int) == 0o600)

        let database = folder.appendingPathComponent("coxswain.sqlite").path
        let checkpoints = folder.appendingPathComponent("checkpoints.log").path
        let cluster = try StandInCluster(state: StandInCluster.standardRelease())
        try await ProcessLifecycleTests.withFakeSlack { world, port in
            let server = try await ServerProcess.start(
                yaml: ProcessLifecycleTests.yaml(port), database: database, cluster: cluster,
                extraConfig: "audit: { installation: tamper-test, checkpoint_file: \(checkpoints), checkpoint_url: http://127.0.0.1:\(port)/hooks/audit }\n",
                environment: ["COXSWAIN_AUDIT_SIGNING_KEY_FILE": keyFile])
            let job = try Harness.jobID(in: try await server.command(ProcessLifecycleTests.release, fakePort: port).text)
            // The job's end is signed: a line in the checkpoint file and one in the audit channel.
            let first = try await Eventually.value("the first checkpoint", timeout: .seconds(60)) { () -> String? in
                try? String(contentsOfFile: checkpoints, encoding: .utf8).split(separator: "\n").first.map(String.init)
            }
            try await Eventually.until("the checkpoint in the audit channel") {
                await world.slackCalls("chat.postMessage").contains { $0.channel == "C0AUDIT" && $0.text.contains(first) }
            }
            let config = try CLITests.config(database: database)
            for round in 1...6 {
                for verb in ["disable", "enable"] {
                    let change = try await CLITests.run(
                        ["registry", verb, "--model-name", "llama-2-7b", "--environment", "production", "--reason", "drill \(round)", "--config", config])
                    try check(change.status == 0, "\(change.err)")
                }
            }
            server.signal(SIGTERM)
            let status = try await server.waitForExit()
            try check(status == 0, server.output)
            // Both checkpoints reached the audit channel (the one made at the stop before the notifier stopped),
            // and verify reads them back from it.
            let slackConfig = folder.appendingPathComponent("slack.yaml")
            try (ProcessLifecycleTests.yaml(port) + "\ndatabase: \(database)\ncommands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)\n")
                .write(to: slackConfig, atomically: true, encoding: .utf8)
            let fromSlack = try await CLITests.run(
                ["audit", "verify", "--config", slackConfig.path, "--public-key", publicKey, "--from-slack"],
                environment: ["SLACK_BOT_TOKEN": Harness.botToken])
            try check(fromSlack.status == 0 && fromSlack.out.contains("checkpoints: 2 checked"), fromSlack.out + fromSlack.err)
            // And each was POSTed to checkpoint_url, its line as `text`.
            let hooked = await world.received.filter { $0.path == "/hooks/audit" }.map(\.text)
            let filed = try String(contentsOfFile: checkpoints, encoding: .utf8).split(separator: "\n").map(String.init)
            try check(hooked == filed, "\(hooked) against \(filed)")
            let state = try await AppDatabase.openReadOnly(path: database).job(id: job)?.state
            try check(state == .succeeded, "job #\(job) is \(String(describing: state))")
        }
        let lines = try String(contentsOfFile: checkpoints, encoding: .utf8).split(separator: "\n")
        try check(lines.count == 2, "one after the job, one at the stop for the registry changes: \(lines)")
        let queue = try DatabaseQueue(path: database)
        let entries = try await queue.read { try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM auditEntry") } ?? 0
        try check(entries >= 20)
        return Trail(folder: folder, database: database, publicKey: publicKey, checkpoints: checkpoints, entries: entries)
    }

    /// What the shared trail needs: thrown, so every test that uses it fails with the reason
    /// (an expectation outside a test's task would be recorded nowhere).
    struct TrailFailure: Error, CustomStringConvertible { let description: String }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String = "") throws {
        guard condition else { throw TrailFailure(description: "writing the trail: \(message())") }
    }

    /// A copy of the trail's database, changed by `tamper` with the append-only triggers gone.
    static func tampered(_ trail: Trail, _ tamper: (Database) throws -> Void) throws -> String {
        let copy = trail.folder.appendingPathComponent("copy-\(UUID().uuidString).sqlite").path
        try DatabaseQueue(path: trail.database).writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
        try DatabaseQueue(path: copy).write { db in
            try db.execute(sql: "DROP TRIGGER auditEntry_appendOnly_update; DROP TRIGGER auditEntry_appendOnly_delete")
            try tamper(db)
        }
        return try CLITests.config(database: copy)
    }

    static func verify(_ trail: Trail, config: String, checkpoints: String? = nil, export: String? = nil) async throws -> CLITests.Run {
        var arguments = ["audit", "verify", "--config", config, "--public-key", trail.publicKey, "--checkpoints", checkpoints ?? trail.checkpoints]
        if let export { arguments += ["--export", export] }
        return try await CLITests.run(arguments)
    }

    @Test("the untouched trail verifies, from the database and from its export; without checkpoints it says what that cannot catch")
    func untouched() async throws {
        let trail = try await Self.trail.value
        let config = try CLITests.config(database: trail.database)
        let run = try await Self.verify(trail, config: config)
        #expect(run.status == 0, "\(run.out)\(run.err)")
        #expect(run.out.contains("audit trail: \(trail.entries) entries read") && run.out.contains("checkpoints: 2 checked"))
        #expect(run.out.hasSuffix("the audit trail verifies\n"))
        let export = trail.folder.appendingPathComponent("export.jsonl")
        try (try await CLITests.run(["audit", "export", "--config", config])).out.write(to: export, atomically: true, encoding: .utf8)
        let fromExport = try await Self.verify(trail, config: config, export: export.path)
        #expect(fromExport.status == 0 && fromExport.out.contains("checkpoints: 2 checked"), "\(fromExport.out)\(fromExport.err)")
        let alone = try await CLITests.run(["audit", "verify", "--config", config])
        #expect(alone.status == 0 && alone.out.contains("none given: a trail rewritten as a whole would pass"))
    }

    @Test("a changed field is found at its entry")
    func changedField() async throws {
        let trail = try await Self.trail.value
        let config = try Self.tampered(trail) { try $0.execute(sql: "UPDATE auditEntry SET actor = 'U0EVE' WHERE seq = 3") }
        let run = try await Self.verify(trail, config: config)
        #expect(run.status == 1)
        #expect(run.out.contains("FAILED  entry 3 does not match its hash"), "\(run.out)")
        #expect(run.out.contains("does NOT verify: 1 problem"))
    }

    @Test("one deleted entry is found by the gap it leaves")
    func deletedEntry() async throws {
        let trail = try await Self.trail.value
        let config = try Self.tampered(trail) { try $0.execute(sql: "DELETE FROM auditEntry WHERE seq = 5") }
        let run = try await Self.verify(trail, config: config)
        #expect(run.status == 1)
        #expect(run.out.contains("FAILED  entry 5 is missing: it was deleted"), "\(run.out)")
    }

    @Test("the last ten entries deleted: the tail below the last published checkpoint is named")
    func deletedTail() async throws {
        let trail = try await Self.trail.value
        let config = try Self.tampered(trail) { try $0.execute(sql: "DELETE FROM auditEntry WHERE seq > ?", arguments: [trail.entries - 10]) }
        let run = try await Self.verify(trail, config: config)
        #expect(run.status == 1)
        #expect(
            run.out.contains("FAILED  the trail ends at entry \(trail.entries - 10), but checkpoint 2 signed entry \(trail.entries)"),
            "\(run.out)")
        #expect(run.out.contains("entries \(trail.entries - 9) to \(trail.entries) were deleted"))
    }

    @Test("two entries swapped: both are found")
    func swapped() async throws {
        let trail = try await Self.trail.value
        let config = try Self.tampered(trail) { db in
            try db.execute(sql: "UPDATE auditEntry SET seq = -1 WHERE seq = 2")
            try db.execute(sql: "UPDATE auditEntry SET seq = 2 WHERE seq = 6")
            try db.execute(sql: "UPDATE auditEntry SET seq = 6 WHERE seq = -1")
        }
        let run = try await Self.verify(trail, config: config)
        #expect(run.status == 1)
        #expect(run.out.contains("FAILED  entry 2 does not match its hash") && run.out.contains("FAILED  entry 6 does not match its hash"), "\(run.out)")
    }

    @Test("checkpoints re-signed with another key are refused: the public key is the auditor's, not the server's")
    func resigned() async throws {
        let trail = try await Self.trail.value
        let other = AuditSigningKey.generate()
        var previous = AuditChain.genesis
        var forged: [String] = []
        for line in try String(contentsOfFile: trail.checkpoints, encoding: .utf8).split(separator: "\n") {
            let original = try Checkpoint.parse(String(line)).get()
            let head = AuditHead(seq: original.seq, hash: original.hash)
            let checkpoint = try Checkpoint.sign(installation: original.installation, head: head, time: original.time, previous: previous, key: other)
            forged.append(checkpoint.line)
            previous = checkpoint.lineHash
        }
        let file = trail.folder.appendingPathComponent("forged-\(UUID().uuidString).log")
        try (forged.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let run = try await Self.verify(trail, config: try CLITests.config(database: trail.database), checkpoints: file.path)
        #expect(run.status == 1)
        #expect(run.out.contains("FAILED  checkpoint 1 (entry") && run.out.contains("is not signed by this public key"), "\(run.out)")
        #expect(run.out.contains("does NOT verify: 2 problems"))
    }

    @Test("the whole chain rewritten consistently passes on its own, and is caught by the published checkpoints")
    func rewrittenChain() async throws {
        let trail = try await Self.trail.value
        let config = try Self.tampered(trail) { db in
            try db.execute(sql: "UPDATE auditEntry SET detail = 'nothing happened' WHERE seq = 1")
            var previous = AuditChain.genesis
            for row in try Row.fetchAll(db, sql: "SELECT * FROM auditEntry ORDER BY seq") {
                let entry = AuditEntry(
                    id: row["id"], seq: row["seq"], at: row["at"], jobID: row["jobID"], actor: row["actor"], event: row["event"], detail: row["detail"],
                    hash: "")
                previous = AuditChain.hash(of: entry, previous: previous)
                try db.execute(sql: "UPDATE auditEntry SET hash = ? WHERE seq = ?", arguments: [previous, entry.seq])
            }
        }
        #expect(try await CLITests.run(["audit", "verify", "--config", config]).status == 0)
        let run = try await Self.verify(trail, config: config)
        #expect(run.status == 1)
        #expect(run.out.contains("but checkpoint 1 signed") && run.out.contains("the trail up to it was rewritten"), "\(run.out)")
    }

    @Test("the audit channel is read back page by page (Slack answers newest first, 200 at most), oldest first")
    func channelReadInPages() async throws {
        let world = FakeWorld()
        try await FakeServer.application(world).test(.live) { fake in
            let http = OutboundHTTP(environment: [:])
            let port = try #require(fake.port)
            let slack = SlackWebClient(http: http, apiURL: try #require(URL(string: "http://127.0.0.1:\(port)/api")), token: Secret(Harness.botToken))
            for n in 1...450 { _ = try await slack.postMessage(channel: "C0AUDIT", text: "line \(n)", blocksJSON: nil, threadTS: nil) }
            _ = try await slack.postMessage(channel: "C0OTHER", text: "elsewhere", blocksJSON: nil, threadTS: nil)
            let texts = try await slack.channelTexts(channel: "C0AUDIT")
            await http.shutdown()
            #expect(texts == (1...450).map { "line \($0)" })
            #expect(await world.slackCalls("conversations.history").count == 3)
        }
    }
}
