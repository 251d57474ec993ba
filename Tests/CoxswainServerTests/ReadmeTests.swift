import CoxswainStore
import Foundation
import Testing

/// The README's commands are what operators copy during an incident: they are run here as
/// written, against a database with a real job in it.
@Suite("the README's commands", .serialized)
struct ReadmeTests {
    static var readme: String { get throws { try String(contentsOf: Harness.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8) } }

    /// The lines of the fenced block after the `readme-commands` marker.
    static func adminCommands() throws -> [String] {
        let lines = try readme.components(separatedBy: "\n")
        let marker = try #require(lines.firstIndex { $0.hasPrefix("<!-- readme-commands") })
        let open = try #require(lines[marker...].firstIndex { $0.hasPrefix("```") })
        let close = try #require(lines[(open + 1)...].firstIndex { $0.hasPrefix("```") })
        return Array(lines[(open + 1)..<close])
    }

    /// Splits a command line as a shell would for these lines: words, and "quoted words".
    static func words(_ line: String) -> [String] {
        var words: [String] = [], current = "", quoted = false, inWord = false
        for character in line {
            switch character {
            case "\"": quoted.toggle(); inWord = true
            case " " where !quoted:
                if inWord { words.append(current) }
                current = ""; inWord = false
            default: current.append(character); inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    @Test("every admin command in the README runs as written and succeeds")
    func adminCommandsRunAsWritten() async throws {
        let commands = try Self.adminCommands()
        #expect(commands.count >= 10)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("coxswain.sqlite").path
        let config = folder.appendingPathComponent("coxswain.yaml")
        try await Harness.run(database: try AppDatabase.open(path: path)) { h in
            _ = try await h.runToEnd("llama-2-7b-production pods OOM after upgrade")
            try
                (Harness.configurationYAML(fakePort: h.fakePort, completionSLO: nil, approvals: 0, access: Harness.legacyUsers)
                + "\ndatabase: \(path)\ncommands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)\n")
                .write(to: config, atomically: true, encoding: .utf8)
        }
        for line in commands {
            let words = Self.words(line)
            try #require(words.first == "coxswain", "not a coxswain command: \(line)")
            let run = try await CLITests.run(Array(words.dropFirst()), environment: ["COXSWAIN_CONFIG": config.path], in: folder)
            #expect(run.status == 0, "\(line) exited \(run.status): \(run.err)")
            #expect(!run.err.lowercased().contains("error"), "\(line): \(run.err)")
        }
        // What they did, checked through the store, not their output alone.
        let database = try AppDatabase.openReadOnly(path: path)
        let events = try await database.tail(limit: 100).map(\.event)
        #expect(events.contains("registry.disable") && events.contains("registry.enable"), "\(events)")
        // The token was issued into a file only its owner reads, listed, then revoked.
        let tokens = try await database.consoleTokens(user: "U0123ALICE")
        #expect(tokens.count == 1 && tokens.first?.revokedAt != nil)
        let file = folder.appendingPathComponent("alice.token").path
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
        #expect(events.contains("console.token_issued") && events.contains("console.token_revoked"))
    }

    /// Swift Testing's cap on tests at once, in both (docs/decisions.md).
    static let testWidth = "SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=24"

    @Test("the README's test command is what CI runs")
    func testCommandIsCIs() throws {
        let readme = try Self.readme
        #expect(readme.contains("export PATH=/opt/swift/usr/bin:$PATH \(Self.testWidth) && swift test\n"))
        let ci = try String(contentsOf: Harness.repositoryRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
        #expect(ci.contains("export PATH=/opt/swift/usr/bin:$PATH") && ci.hasSuffix("\nexport \(Self.testWidth)\nswift test\n"))
    }
}
