import Foundation
import Testing

/// A clone anywhere builds what CI tested: every package is named in `Package.swift` with
/// `exact:`, and the versions SwiftPM resolved (`Package.resolved`, written by the build
/// this test runs in) are those versions, transitive dependencies included.
@Suite("pinned dependencies")
struct PinnedVersionsTests {
    /// identity (lowercased repository name) -> version, as `Package.swift` names them.
    static func declared() throws -> [String: String] {
        let manifest = try String(contentsOf: Harness.repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        var pins: [String: String] = [:]
        for line in manifest.components(separatedBy: "\n") where line.contains(".package(") {
            let quoted = line.components(separatedBy: "\"")
            guard quoted.count >= 4, line.contains("exact:") else {
                Issue.record("not pinned with exact: \(line.trimmingCharacters(in: .whitespaces))")
                continue
            }
            let name = URL(string: quoted[1])?.deletingPathExtension().lastPathComponent.lowercased() ?? quoted[1]
            pins[name] = quoted[3]
        }
        return pins
    }

    static func resolved() throws -> [String: String] {
        let file = Harness.repositoryRoot.appendingPathComponent("Package.resolved")
        let data = try #require(try? Data(contentsOf: file), "no Package.resolved: the build that runs this test writes it")
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var pins: [String: String] = [:]
        for pin in object["pins"] as? [[String: Any]] ?? [] {
            guard let identity = pin["identity"] as? String else { continue }
            pins[identity] = (pin["state"] as? [String: Any])?["version"] as? String ?? "(no version: a branch or revision)"
        }
        return pins
    }

    @Test("every package is pinned with exact:, and what was resolved is what is pinned")
    func resolvedIsPinned() throws {
        let declared = try Self.declared()
        let resolved = try Self.resolved()
        #expect(declared.count >= 15)
        for (identity, version) in resolved.sorted(by: { $0.key < $1.key }) {
            #expect(declared[identity] == version, "\(identity) resolved to \(version) but Package.swift pins \(declared[identity] ?? "nothing")")
        }
        for identity in Set(declared.keys).subtracting(resolved.keys).sorted() {
            Issue.record("\(identity) is pinned in Package.swift but nothing depends on it")
        }
    }
}
