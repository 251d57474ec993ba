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

    @Test("Slack markup only in the Slack adapter, Mattermost's only in the Mattermost adapter; GRDB only in the store")
    func rooms() throws {
        for file in try Self.swiftFiles(under: "Sources") {
            for (number, line) in file.lines.enumerated() {
                if !file.path.hasPrefix("Sources/CoxswainStore/"), line.hasPrefix("import GRDB") {
                    Issue.record("\(file.path):\(number + 1) imports GRDB outside the store")
                }
                // The first migrations' column names stay as they were written (v4 dropped them).
                let historic = file.path.hasSuffix("CoxswainStore/Migrations.swift") && line.contains("blocksJSON TEXT")
                if !file.path.hasPrefix("Sources/CoxswainChat/Slack/"), !historic,
                    ["<@", "<#", "mrkdwn", "blocks"].contains(where: { line.contains($0) })
                {
                    Issue.record("\(file.path):\(number + 1) writes Slack markup outside the Slack adapter: \(line.trimmingCharacters(in: .whitespaces))")
                }
                if !file.path.hasPrefix("Sources/CoxswainChat/Mattermost/"),
                    ["\"**", "**\"", "root_id", "ephemeral_text", "\"props\"", "\"attachments\""].contains(where: { line.contains($0) })
                {
                    Issue.record(
                        "\(file.path):\(number + 1) writes Mattermost markup outside the Mattermost adapter: \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }

    @Test("Core does no I/O: files, processes and the network are read at the edge and handed to it")
    func coreDoesNoIO() throws {
        let forbidden = [
            "contentsOfFile", "contentsOf:", "FileManager", "FileHandle", "fopen(", "Process(", "URLSession", "write(to:", "write(toFile:",
            "ProcessInfo.processInfo.environment",
        ]
        for file in try Self.swiftFiles(under: "Sources/CoxswainCore") {
            for (number, line) in file.lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                if let call = forbidden.first(where: { line.contains($0) }) {
                    Issue.record("\(file.path):\(number + 1) does I/O in Core (\(call)): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }

    /// Each target's name and the modules it may import: the targets and products it names.
    static func declaredDependencies() throws -> [String: Set<String>] {
        let manifest = try String(contentsOf: Harness.repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        var targets: [String: Set<String>] = [:]
        let uniform = manifest.replacingOccurrences(of: ".executableTarget(", with: ".target(").replacingOccurrences(of: ".testTarget(", with: ".target(")
        for chunk in uniform.components(separatedBy: ".target(").dropFirst() {
            let words = chunk.components(separatedBy: "\"")
            guard words.count > 1, chunk.hasPrefix("\n") || chunk.hasPrefix("name:") else { continue }
            let name = words[1]
            let dependencies = chunk.components(separatedBy: "dependencies: [").dropFirst().first?.components(separatedBy: "]").first ?? ""
            targets[name] = Set(dependencies.components(separatedBy: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
        }
        return targets
    }

    @Test("each target imports only what Package.swift declares for it, not what reaches it through others")
    func importsAreDeclared() throws {
        let targets = try Self.declaredDependencies()
        #expect(targets.count >= 14, "\(targets.keys.sorted())")
        // The toolchain's own modules, which no manifest declares.
        let system: Set<String> = [
            "Foundation", "FoundationNetworking", "FoundationEssentials", "Glibc", "Musl", "Dispatch", "Synchronization", "Testing", "XCTest",
        ]
        for (folder, target) in [("Sources", ""), ("Tests", ""), ("Benchmarks", "bare-webhook")] {
            for file in try Self.swiftFiles(under: folder) {
                let relative = file.path.dropFirst(folder.count + 1)
                let name = target.isEmpty ? String(relative.split(separator: "/").first ?? "") : target
                guard let declared = targets[name] else {
                    Issue.record("\(file.path): no target \(name) in Package.swift")
                    continue
                }
                for line in file.lines where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    let module = String(line.split(separator: " ").last ?? "")
                    if !system.contains(module) && !declared.contains(module) {
                        Issue.record("\(file.path) imports \(module), which Package.swift does not declare for \(name)")
                    }
                }
            }
        }
    }
}
