import CoxswainCore
import Foundation
import Testing

/// Slack commands share one namespace per workspace: the runbooks name their commands, a
/// prefix renames them all, and everything also works under one umbrella command.
@Suite("command names: runbooks, prefix, umbrella", .serialized)
struct CommandNameTests {
    static let release = "llama-2-7b-production"

    /// The repository's runbooks, with the rollback one renamed to `/model-rollback`.
    static func renamedRunbooks() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-runbooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = Harness.repositoryRoot.appendingPathComponent("commands")
        for name in ["rollback.yaml", "upgrade.yaml"] {
            var text = try String(contentsOf: source.appendingPathComponent(name), encoding: .utf8)
            if name == "rollback.yaml" {
                #expect(text.contains("command: /rollback\n"))
                text = text.replacingOccurrences(of: "command: /rollback\n", with: "command: /model-rollback\n")
            }
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return folder.path
    }

    @Test("a runbook's own command with command_prefix: accepted, run, listed in help and declared in the manifest")
    func customCommandAndPrefix() async throws {
        let runbooks = try Self.renamedRunbooks()
        try await Harness.run(extra: "command_prefix: cx-", runbooks: runbooks) { h in
            let job = try await h.runToEnd("\(Self.release) pods OOM", command: "/cx-model-rollback")
            #expect(job.state == .succeeded)
            #expect(try Harness.rollbackCalls(h) == [["helm", "rollback", Self.release, "3", "-n", "production", "--wait", "--timeout", "10m0s"]])
            // The old names are not ours any more: nothing runs.
            for old in ["/rollback", "/model-rollback", "/cx-rollback"] {
                let answer = try Harness.ephemeralText(try await h.command(Self.release, command: old))
                #expect(!answer.contains("Job #"), "\(old) answered \(answer)")
            }
            #expect(try await h.database.recentJobs(release: nil, limit: 10).count == 1)
            // Under the prefixed umbrella too, and help speaks the new names.
            let help = try Harness.ephemeralText(try await h.command("help", command: "/cx-coxswain"))
            #expect(help.contains("`/cx-model-rollback RELEASE [REVISION]") && help.contains("`/cx-approve JOB`") && !help.contains("`/rollback"))
            let umbrella = try Harness.ephemeralText(try await h.command("model-rollback \(Self.release) 4", command: "/cx-coxswain"))
            #expect(umbrella.contains("Job #"), "\(umbrella)")
        }
        // The manifest declares exactly what the server accepts.
        let config = URL(fileURLWithPath: runbooks).deletingLastPathComponent().appendingPathComponent("coxswain-\(UUID().uuidString).yaml")
        try
            (Harness.configurationYAML(fakePort: 9, completionSLO: nil, approvals: 0, access: Harness.legacyUsers)
            + "\ncommand_prefix: cx-\ncommands: \(runbooks)\n").write(to: config, atomically: true, encoding: .utf8)
        let manifest = try await CLITests.run(["manifest", "--url", "https://coxswain.example.com", "--config", config.path])
        #expect(manifest.status == 0, "\(manifest.err)")
        let declared = manifest.out.split(separator: "\n").compactMap { $0.firstMatch(of: /command: "(\/[a-z-]+)"/).map { String($0.1) } }
        #expect(
            declared.sorted() == [
                "/cx-ack", "/cx-approve", "/cx-cancel", "/cx-confirm", "/cx-coxswain", "/cx-deny", "/cx-history",
                "/cx-jobs", "/cx-model-rollback", "/cx-releases", "/cx-resume-sync", "/cx-status", "/cx-upgrade", "/cx-watch",
            ])
    }

    /// Arguments that give every verb a definite answer without changing anything.
    static let harmless: [String: String] = [
        "rollback": "llama-70b", "upgrade": "llama-70b 0.3.0", "approve": "999", "deny": "999 wrong plan", "confirm": "999",
        "cancel": "999", "ack": "999", "history": "llama-70b", "status": "llama-70b", "releases": "production", "jobs": "",
        "watch": "llama-70b", "resume-sync": "llama-70b",
    ]

    @Test("/coxswain VERB answers as /VERB does, for every verb")
    func umbrellaForEveryVerb() async throws {
        try await Harness.run { h in
            let verbs = h.dependencies.catalog.verbs
            #expect(Set(verbs) == Set(Self.harmless.keys), "a verb without a case here: \(verbs)")
            for verb in verbs {
                let text = try #require(Self.harmless[verb])
                let direct = try Harness.ephemeralText(try await h.command(text, command: "/\(verb)"))
                let umbrella = try Harness.ephemeralText(try await h.command("\(verb) \(text)", command: "/coxswain"))
                #expect(umbrella.replacingOccurrences(of: "/coxswain \(verb)", with: "/\(verb)") == direct, "\(verb)")
                #expect(!umbrella.contains("does not know the command"), "\(verb): \(umbrella)")
            }
            // Deferred questions are answered through the response URL, once for each form.
            try await Eventually.until("both answers to /status and /coxswain status") {
                await h.world.responseURLCalls().filter { $0.text.contains("Status") || $0.text.contains("does not know a release `llama-70b`") }.count >= 4
            }
            #expect(try await h.database.recentJobs(release: nil, limit: 10).isEmpty)
            // And a change through the umbrella runs like the direct one.
            let job = try await h.runToEnd("rollback \(Self.release) pods OOM", command: "/coxswain")
            #expect(job.state == .succeeded && job.request.command == "/rollback")
            let jobs = try Harness.ephemeralText(try await h.command("jobs", command: "/coxswain"))
            #expect(jobs.contains("#\(job.id) ") && jobs.contains("succeeded"))
        }
    }
}
