import CoxswainCore
import CoxswainStore
import Foundation
import GRDB
import Testing

/// The store misbehaving the way disks and databases do during an incident: locked by
/// another writer, full. Requests get a clear answer in time, nothing is half-recorded, a
/// job waits for the store and ends recorded, never stuck `running`.
@Suite("storage faults", .serialized)
struct StoreFaultTests {
    static let release = "llama-2-7b-production"

    static func gated() throws -> ([String: Any], URL) {
        let gate = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(UUID().uuidString)")
        var state = StandInCluster.standardRelease()
        var releases = state["releases"] as! [String: Any]
        var release = releases[release] as! [String: Any]
        release["rollback_gate"] = gate.path
        releases[Self.release] = release
        state["releases"] = releases
        return (state, gate)
    }

    /// The stand-in helm recorded the rollback (revision 6 exists): the helm call is over.
    static func rollbackDone(_ h: Harness) throws -> Bool {
        let releases = try h.cluster.state()["releases"] as? [String: Any]
        return ((releases?[release] as? [String: Any])?["revisions"] as? [Any])?.count == 6
    }

    /// While the store cannot write: the webhook answers in time and says why, `/readyz`
    /// reports it, and a running job's step result waits. Afterwards the job ends recorded.
    static func rideOut(
        _ fault: String, path: String, begin: @escaping @Sendable () async throws -> Void,
        end: @escaping @Sendable () async throws -> Void
    ) async throws {
        let (cluster, gate) = try gated()
        let database = try AppDatabase.open(path: path)
        try await Harness.run(cluster: cluster, database: database) { h in
            let id = try Harness.jobID(in: try Harness.ephemeralText(try await h.command(Self.release)))
            try await Eventually.until("helm rollback to start") { try h.cluster.calls().contains { $0.prefix(2) == ["helm", "rollback"] } }
            try await begin()
            // Whatever happens below, the fault ends, or the server would wait for its store for ever.
            let ended = EndOnce(end)
            defer { Task { try? await ended.run() } }
            // How fast the answer comes is measured against the real process (`lockedDatabaseAnswersInTime`):
            // timed in here it would also measure every other test sharing this process's threads.
            let text = try Harness.ephemeralText(try await h.command("llama-2-7b-development"))
            #expect(text.contains("Coxswain cannot record requests right now: \(fault). Nothing was done; try again in a minute."), "\(text)")
            let ready = try await h.client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(String(buffer: ready.body).contains(fault))
            // The helm call finishes; recording its result has to wait for the store.
            let writesBefore = database.transactionCounts.writes
            try Data().write(to: gate)
            try await Eventually.until("the rollback to finish") { try Self.rollbackDone(h) }
            try await Eventually.until("the job to try to record its step") { database.transactionCounts.writes >= writesBefore + 2 }
            #expect(try await database.job(id: id)?.steps.last { $0.action == "helm.rollback" }?.status == .running)
            try await ended.run()
            let job = try await h.waitUntilSettled(job: id)
            #expect(job.state == .succeeded, "\(job.outcome ?? "")")
            #expect(job.steps.allSatisfy { $0.status == .succeeded })
            #expect(try await h.database.recentJobs(release: nil, limit: 5).count == 1)  // the refused request left nothing
            #expect(try await h.client.execute(uri: "/readyz", method: .get).status == .ok)
            #expect(try await h.liveMessageText(job: job).contains("*Result:* rolled back"))
        }
    }

    /// Ends a fault exactly once.
    actor EndOnce {
        private var end: (@Sendable () async throws -> Void)?
        init(_ end: @escaping @Sendable () async throws -> Void) { self.end = end }
        func run() async throws {
            guard let end else { return }
            self.end = nil
            try await end()
        }
    }

    @Test("the database locked by another process")
    func lockedDatabase() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-\(UUID().uuidString).sqlite").path
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true  // it holds the lock across accesses, as another process would
        configuration.busyMode = .timeout(10)  // and waits its turn for it if Coxswain is writing just then
        let other = try DatabaseQueue(path: path, configuration: configuration)
        try await Self.rideOut(
            "the database is locked by another process", path: path,
            begin: { try await other.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE") } },
            end: { try await other.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") } })
    }

    @Test("the database locked by another process: the real server answers in well under Slack's 3 s, timed by curl")
    func lockedDatabaseAnswersInTime() async throws {
        let path = ProcessLifecycleTests.databasePath()
        try await ProcessLifecycleTests.withFakeSlack { _, port in
            let cluster = try StandInCluster(state: StandInCluster.standardRelease())
            let server = try await ServerProcess.start(yaml: ProcessLifecycleTests.yaml(port), database: path, cluster: cluster)
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true
            configuration.busyMode = .timeout(10)
            let other = try DatabaseQueue(path: path, configuration: configuration)
            try await other.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE") }
            let locked = try await server.commandTimedByCurl(Self.release, fakePort: port)
            try await other.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
            #expect(locked.seconds < 2.5, "answered after \(locked.seconds) s")
            #expect(locked.status == 200)
            #expect(locked.text.contains("Coxswain cannot record requests right now: the database is locked by another process."), "\(locked.text)")
            let after = try await server.commandTimedByCurl(Self.release, fakePort: port)
            #expect(after.status == 200)
            _ = try Harness.jobID(in: after.text)
            server.signal(SIGTERM)
            _ = try await server.waitForExit()
        }
    }

    static var isRoot: Bool { getuid() == 0 }

    @Test("the disk holding the database full (a small tmpfs; needs root)", .enabled(if: isRoot))
    func fullDisk() async throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("coxswain-tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        guard try Self.shell("/bin/mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint.path]) == 0 else {
            Issue.record("could not mount a tmpfs at \(mountPoint.path)")
            return
        }
        defer { _ = try? Self.shell("/bin/umount", ["-l", mountPoint.path]) }
        let filler = mountPoint.appendingPathComponent("filler")
        try await Self.rideOut(
            "the disk holding the database is full", path: mountPoint.appendingPathComponent("coxswain.sqlite").path,
            begin: { try Self.fill(filler) },
            end: { try FileManager.default.removeItem(at: filler) })
    }

    /// Writes until the file system has no space left.
    static func fill(_ file: URL) throws {
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        let block = Data(repeating: 0x78, count: 64 * 1024)
        while (try? handle.write(contentsOf: block)) != nil {}
        let small = Data(repeating: 0x78, count: 512)
        while (try? handle.write(contentsOf: small)) != nil {}
        try? handle.synchronize()
    }

    static func shell(_ program: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
