import Foundation
import Testing

/// The conventions a newcomer relies on, checked rather than hoped for: each room keeps
/// to its purpose, and files stay readable.
@Suite("repository rules")
struct RepositoryRulesTests {
    struct SourceFile {
        let path: String
        let lines: [String]
    }

    static func swiftFiles(under folder: String) throws -> [SourceFile] {
        let root = Harness.repositoryRoot.appendingPathComponent(folder)
        let paths = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        return try paths.sorted().map {
            SourceFile(path: folder + "/" + $0, lines: try String(contentsOf: root.appendingPathComponent($0), encoding: .utf8).components(separatedBy: "\n"))
        }
    }

    @Test("lines under 160 characters; source files under 400 lines")
    func sizes() throws {
        let files = try Self.swiftFiles(under: "Sources") + Self.swiftFiles(under: "Tests")
        #expect(files.count > 50)
        for file in files {
            for (number, line) in file.lines.enumerated() where line.count > 160 {
                Issue.record("\(file.path):\(number + 1) is \(line.count) characters")
            }
            if file.path.hasPrefix("Sources/") { #expect(file.lines.count <= 400, "\(file.path) has \(file.lines.count) lines") }
        }
    }

    @Test("Slack markup only in the Slack adapter; GRDB only in the store")
    func rooms() throws {
        for file in try Self.swiftFiles(under: "Sources") {
            for (number, line) in file.lines.enumerated() {
                if !file.path.hasPrefix("Sources/CoxswainStore/"), line.hasPrefix("import GRDB") {
                    Issue.record("\(file.path):\(number + 1) imports GRDB outside the store")
                }
                // The first migrations' column names stay as they were written (v4 dropped them).
                let historic = file.path.hasSuffix("CoxswainStore/Migrations.swift") && line.contains("blocksJSON TEXT")
                if !file.path.hasPrefix("Sources/CoxswainChat/"), !historic,
                    ["<@", "<#", "mrkdwn", "blocks"].contains(where: { line.contains($0) })
                {
                    Issue.record("\(file.path):\(number + 1) writes Slack markup outside the Slack adapter: \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }
}
