import CoxswainCore
import CoxswainStore
import Foundation
import GRDB
import Testing

/// Every read command works on a database in a read-only mount (a restored snapshot, a
/// forensic copy), or says precisely why not. The mounts are real: the test runs as root
/// (as CI does) and bind-mounts folders read-only.
@Suite("read commands on a read-only filesystem", .serialized, .enabled(if: getuid() == 0))
struct ReadOnlyCopyTests {
    static let readCommands = [
        ["jobs", "list"], ["jobs", "show", "1"], ["audit", "tail", "-n", "5"], ["audit", "export", "--format", "jsonl"],
        ["registry", "list"], ["users", "list"],
    ]

    static func folder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-ro-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// `source` seen read-only at a new folder, until `body` returns.
    static func mountedReadOnly(_ source: URL, _ body: (URL) async throws -> Void) async throws {
        let target = try folder("mount")
        let mount = URL(fileURLWithPath: "/bin/mount")
        for arguments in [["--bind", source.path, target.path], ["-o", "remount,bind,ro", target.path]] {
            let run = try await CLITests.run(at: mount, arguments)
            try #require(run.status == 0, "mount \(arguments.joined(separator: " ")): \(run.err)")
        }
        #expect(access(target.path, W_OK) != 0, "the mount is read-only")
        var failure: (any Error)?
        do { try await body(target) } catch { failure = error }
        _ = try await CLITests.run(at: URL(fileURLWithPath: "/bin/umount"), [target.path])
        if let failure { throw failure }
    }

    /// A configuration naming `database`, in a writable folder of its own.
    static func configuration(database: String) throws -> String {
        let file = try folder("config").appendingPathComponent("coxswain.yaml")
        try
            (Harness.configurationYAML(fakePort: 9, completionSLO: nil, approvals: 0, access: Harness.legacyUsers)
            + "\ndatabase: \(database)\ncommands: \(Harness.repositoryRoot.appendingPathComponent("commands").path)\n")
            .write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test("a snapshot of a database the server closed, in a read-only mount: every read command works and writes nothing")
    func closedDatabase() async throws {
        let source = try Self.folder("closed")
        let path = source.appendingPathComponent("coxswain.sqlite").path
        try await Harness.run(database: try AppDatabase.open(path: path)) { h in
            _ = try await h.runToEnd("llama-2-7b-production pods OOM after upgrade")
        }
        // What a clean stop leaves (the log checkpointed into the database file, no -wal or -shm), copied as a snapshot is.
        let queue = try DatabaseQueue(path: path)
        try await queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try queue.close()
        let snapshot = try Self.folder("snapshot")
        try FileManager.default.copyItem(atPath: path, toPath: snapshot.appendingPathComponent("coxswain.sqlite").path)
        let before = try FileManager.default.contentsOfDirectory(atPath: snapshot.path).sorted()
        #expect(before == ["coxswain.sqlite"])
        try await Self.mountedReadOnly(snapshot) { mounted in
            let config = try Self.configuration(database: mounted.appendingPathComponent("coxswain.sqlite").path)
            for command in Self.readCommands {
                let run = try await CLITests.run(command + ["--config", config])
                #expect(run.status == 0, "coxswain \(command.joined(separator: " ")): \(run.err)")
            }
            let shown = try await CLITests.run(["jobs", "show", "1", "--config", config])
            #expect(shown.out.contains("state: succeeded"), "\(shown.out)")
            let exported = try await CLITests.run(["audit", "export", "--config", config])
            #expect(exported.out.contains("job.requested"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: snapshot.path).sorted() == before)
    }

    @Test("a copy taken while the server wrote, its log not checkpointed: the read commands say why they cannot read it and what to do")
    func copyWithPendingLog() async throws {
        let live = try Self.folder("live")
        let path = live.appendingPathComponent("coxswain.sqlite").path
        let database = try AppDatabase.open(path: path)
        try await database.seed([], now: Date())
        _ = try await database.saveToken(user: "U1", digest: "d", expiresAt: Date().addingTimeInterval(60), issuedBy: "test", now: Date())
        // The copy a backup tool makes of a database in use: the file and its log, not the shared memory.
        let copy = try Self.folder("copy")
        for suffix in ["", "-wal"] {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: copy.appendingPathComponent("coxswain.sqlite" + suffix).path)
        }
        let log = try #require(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        #expect(log > 0)
        _ = database
        try await Self.mountedReadOnly(copy) { mounted in
            let config = try Self.configuration(database: mounted.appendingPathComponent("coxswain.sqlite").path)
            let run = try await CLITests.run(["audit", "tail", "--config", config])
            #expect(run.status != 0)
            #expect(run.err.contains("write-ahead log") && run.err.contains("which is read-only"), "\(run.err)")
            #expect(run.err.contains("copy the database with its -wal file to a writable folder"), "\(run.err)")
        }
    }
}
