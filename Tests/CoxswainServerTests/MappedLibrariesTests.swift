import CoxswainStore
import Foundation
import Testing

/// Resident memory an idle server does not need (issue 13, "RSS < 40 MB idle"): Swift Regex maps the regex engine
/// into the process for good (~1.5 MB of pages); the configuration, the commands and the helm/kubectl output are
/// read by hand matchers instead. The real `coxswain serve` runs a rollback, delivers its messages and idles; then
/// /proc says how much of the regex libraries it has touched. Loading alone touches ~0.8 MB (relocations); any
/// use adds well over the margin. (ICU is mapped by GRDB's date formatter: keeping it out took a hand-written date
/// codec that bought 4.7 MB, under the 15 % a mechanism must buy to stay; see Benchmarks/README.md.)
@Suite("mapped libraries", .serialized)
struct MappedLibrariesTests {
    /// Resident kilobytes per mapped file name, from /proc/PID/smaps.
    static func residentKilobytes(pid: Int32) throws -> [String: Int] {
        var resident: [String: Int] = [:]
        var current = ""
        // Read to the end: /proc files say they are empty, and a read sized by that stops early.
        let file = try #require(FileHandle(forReadingAtPath: "/proc/\(pid)/smaps"))
        defer { try? file.close() }
        for line in String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), range.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                current = fields.count > 5 ? String(fields[5].split(separator: "/").last ?? "") : ""
            } else if fields.first == "Rss:", fields.count > 1, let kilobytes = Int(fields[1]) {
                resident[current, default: 0] += kilobytes
            }
        }
        return resident
    }

    @Test("a server that has run a rollback and idles has not used the regex engine")
    func noRegex() async throws {
        let cluster = try StandInCluster(state: StandInCluster.standardRelease())
        let path = ProcessLifecycleTests.databasePath()
        try await ProcessLifecycleTests.withFakeSlack { _, port in
            let server = try await ServerProcess.start(
                yaml: ProcessLifecycleTests.yaml(port, worker: "{ shutdown_grace: 5s, lease_duration: 3s }"), database: path,
                cluster: cluster)
            let id = try Harness.jobID(in: try await server.command(ProcessLifecycleTests.release, fakePort: port).text)
            let database = try AppDatabase.openReadOnly(path: path)
            try await Eventually.until("the rollback to succeed and Slack to hear all of it", timeout: .seconds(60)) {
                let state = try await database.job(id: id)?.state
                let pending = try await database.pending(platform: "slack").count
                return state == .succeeded && pending == 0
            }
            // The idle loop has run once the lease is renewed (every lease_duration / 3).
            let renewed = try #require(try await database.currentLease()).expiresAt
            try await Eventually.until("a lease renewal") {
                let expiresAt = try await database.currentLease()?.expiresAt
                return (expiresAt ?? renewed) > renewed
            }

            let resident = try Self.residentKilobytes(pid: server.pid)
            let regex = resident["libswift_RegexParser.so", default: 0] + resident["libswift_StringProcessing.so", default: 0]
            #expect(resident["libFoundation.so", default: 0] > 0, "smaps was read: \(resident.keys.sorted())")
            #expect(regex < 1100, "the regex engine: \(regex) KB resident")
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0)
        }
    }
}
