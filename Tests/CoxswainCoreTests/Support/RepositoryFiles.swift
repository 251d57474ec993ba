import CoxswainCore
import Foundation

/// The repository's own runbooks and example configuration, read here so that the tests of
/// Core (which reads no files) parse the same text the server would.
enum RepositoryFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ path: String) throws -> String { try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) }

    static func runbooks() throws -> RunbookSet {
        let folder = root.appendingPathComponent("commands")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        return try RunbookSet.parse(files: try names.map { ("commands/" + $0, try text("commands/" + $0)) }, folder: "commands")
    }

    /// A configuration file as the server reads it: relative paths relative to its folder.
    static func configuration(_ path: String) throws -> CoxswainConfiguration {
        let folder = root.appendingPathComponent(path).deletingLastPathComponent().path
        return try ConfigurationLoader.parse(yaml: try text(path), file: path, baseDirectory: folder)
    }
}
