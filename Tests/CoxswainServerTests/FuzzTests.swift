import CoxswainChat
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// No input crashes the process or gets an HTTP 500, and nothing a client sends reaches
/// helm or kubectl unless it is a valid, authorised command. Fixed seed, bounded; for a
/// longer run: `COXSWAIN_FUZZ_CASES=200000 COXSWAIN_FUZZ_SEED=7 swift test --filter FuzzTests`.
@Suite("fuzzing the Slack routes", .serialized)
struct FuzzTests {
    static var cases: Int { ProcessInfo.processInfo.environment["COXSWAIN_FUZZ_CASES"].flatMap(Int.init) ?? 20_000 }
    static var seed: UInt64 { ProcessInfo.processInfo.environment["COXSWAIN_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_123 }
    /// No configured member can be generated: nothing is allowed, so nothing may run.
    static let access = "users: { U0NOTFUZZED: [development] }"

    @Test("generated requests over both routes: no 500, no crash, nothing reaches the cluster, healthz answers after")
    func routes() async throws {
        try await Harness.run(access: Self.access, logLevel: .critical) { h in
            var rng = SplitMix64(seed: Self.seed)
            var statuses: [Int: Int] = [:]
            let now = Int(Date().timeIntervalSince1970)
            for index in 0..<Self.cases {
                let path = FuzzInputs.chance(50, &rng) ? "/slack/commands" : (FuzzInputs.chance(95, &rng) ? "/slack/interactions" : "/slack/\(index)")
                var body: Data
                switch rng.next() % 20 {
                case 0: body = FuzzInputs.randomBytes(Int(rng.next() % 2048), &rng)
                case 1: body = Data(repeating: 0x61, count: SlashCommandControllerLimit.bodyLimit)  // at the limit
                case 2: body = Data(repeating: 0x61, count: SlashCommandControllerLimit.bodyLimit + 1)  // over it
                case 3: body = Data(FuzzInputs.form(&rng, fakePort: h.fakePort).utf8) + Data(repeating: 0x26, count: 300_000)
                case 4, 5, 6, 7, 8: body = Data(FuzzInputs.payload(&rng, fakePort: h.fakePort).utf8)
                default: body = Data(FuzzInputs.form(&rng, fakePort: h.fakePort).utf8)
                }
                var headers: HTTPFields = [.contentType: FuzzInputs.pick(["application/x-www-form-urlencoded", "application/json", "text/plain", "x"], &rng)]
                let signed = FuzzInputs.chance(60, &rng)
                let timestamp = signed ? String(now) : FuzzInputs.timestamp(now, &rng)
                if let timestamp { headers[HTTPField.Name("X-Slack-Request-Timestamp")!] = timestamp }
                if signed, let timestamp {
                    headers[HTTPField.Name("X-Slack-Signature")!] = SlackRequestVerifier.signature(
                        signingSecret: Harness.signingSecret, timestamp: timestamp, body: body)
                } else if FuzzInputs.chance(70, &rng) {
                    headers[HTTPField.Name("X-Slack-Signature")!] = FuzzInputs.pick(
                        [
                            "", "v0=", "v0=zz", "v1=00", "v0=" + String(repeating: "a", count: 64),
                            "v0=" + String(repeating: "0", count: 63),
                        ], &rng)
                }
                let response = try await h.client.execute(
                    uri: path, method: FuzzInputs.chance(97, &rng) ? .post : .put, headers: headers,
                    body: ByteBuffer(bytes: body))
                statuses[response.status.code, default: 0] += 1
                #expect(response.status.code < 500, "case \(index): \(path) answered \(response.status.code)")
            }
            #expect(statuses.keys.allSatisfy { $0 < 500 }, "\(statuses)")
            #expect(try h.cluster.calls().isEmpty)
            #expect(try await h.client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
        }
    }

    @Test("malformed HTTP on a raw socket gets an answer or a closed connection, never a crash")
    func rawHTTP() async throws {
        try await Harness.run(access: Self.access, logLevel: .critical) { h in
            let port = try #require(h.client.port)
            var rng = SplitMix64(seed: Self.seed &+ 1)
            let lines: [String] = [
                "POST /slack/commands HTTP/1.1", "POST /slack/commands HTTP/9.9", "GARBAGE", "POST  HTTP/1.1", "\u{0}\u{0}\u{0}",
                "POST /slack/commands?x=%ZZ HTTP/1.1", "POST /slack/../../etc/passwd HTTP/1.1",
            ]
            let headers = [
                "Host: x", "Content-Length: 10", "Content-Length: -1", "Content-Length: 99999999999999999999",
                "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "X-Slack-Request-Timestamp: -9223372036854775808",
                "X-Slack-Signature: v0=\u{1}", "NoColonHere", ": empty-name", "X-Long: " + String(repeating: "y", count: 70_000),
            ]
            for _ in 0..<300 {
                var request = FuzzInputs.pick(lines, &rng) + "\r\n"
                for _ in 0..<Int(rng.next() % 5) { request += FuzzInputs.pick(headers, &rng) + "\r\n" }
                request += "\r\n" + String(decoding: FuzzInputs.randomBytes(Int(rng.next() % 64), &rng), as: UTF8.self)
                let answer = RawSocket.exchange(port: port, bytes: Data(request.utf8))
                #expect(!answer.hasPrefix("HTTP/1.1 5"), "\(answer.prefix(100))")
            }
            #expect(try await h.client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try h.cluster.calls().isEmpty)
        }
    }
}

/// The webhook's body limit, as the route enforces it.
enum SlashCommandControllerLimit { static let bodyLimit = 64 * 1024 }

/// A blocking TCP exchange on loopback: send, close the sending side, read what comes back.
enum RawSocket {
    static func exchange(port: Int, bytes: Data) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: received, as: UTF8.self)
    }
}
