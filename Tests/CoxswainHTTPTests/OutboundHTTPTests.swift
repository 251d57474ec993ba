import Foundation
import Testing

@testable import CoxswainHTTP

#if canImport(Glibc)
import Glibc
#endif

/// The outbound client against real sockets: an answer, a refused connection, a server that
/// never answers and one that stops in the middle of its answer.
@Suite struct OutboundHTTPTests {
    @Test func readsStatusHeadersAndBody() async throws {
        let server = try RawServer(answer: "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
        let answer = try await OutboundHTTP(environment: [:]).send(.post, server.url, body: Data("x".utf8), timeout: .seconds(5))
        #expect(answer.status == 429)
        #expect(answer.header("retry-after") == "7")
        #expect(String(decoding: answer.body, as: UTF8.self) == "{\"ok\":true}")
        #expect(server.received().hasPrefix("POST / HTTP/1.1"))
    }

    @Test func aRefusedConnectionFailsAtOnceAndSaysSo() async throws {
        let closed = try RawServer(answer: nil)
        let url = closed.url
        closed.close()
        let started = ContinuousClock.now
        await #expect {
            _ = try await OutboundHTTP(environment: [:]).send(.get, url, timeout: .seconds(30))
        } throws: { ($0 as? OutboundHTTP.Failure)?.reason == "connection refused" }
        #expect(ContinuousClock.now - started < .seconds(10), "a refused connection must not be retried until the deadline")
    }

    @Test func aServerThatNeverAnswersEndsAtTheTimeout() async throws {
        let server = try RawServer(answer: nil)
        await #expect {
            _ = try await OutboundHTTP(environment: [:]).send(.get, server.url, timeout: .milliseconds(300))
        } throws: { ($0 as? OutboundHTTP.Failure)?.reason == "no answer within 0.3 seconds" }
    }

    @Test func theTimeoutCoversTheAnswersBody() async throws {
        let server = try RawServer(answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":")
        await #expect {
            _ = try await OutboundHTTP(environment: [:]).send(.get, server.url, timeout: .milliseconds(300))
        } throws: { ($0 as? OutboundHTTP.Failure)?.reason == "no answer within 0.3 seconds" }
    }

    @Test func proxiesAreChosenAsCurlChoosesThem() throws {
        let settings = ProxySettings(environment: [
            "HTTPS_PROXY": "http://ops%40corp:s3cret@proxy.corp:3128", "http_proxy": "proxy.corp:8080",
            "HTTP_PROXY": "ignored:1", "NO_PROXY": "svc.cluster.local, .internal:8443,",
        ])
        let slack = try #require(settings.proxy(for: URL(string: "https://slack.com/api/chat.postMessage")!))
        #expect(slack.host == "proxy.corp" && slack.port == 3128)
        #expect(slack.authorization == .basic(username: "ops@corp", password: "s3cret"))
        #expect(settings.proxy(for: URL(string: "http://example.com/x")!)?.port == 8080, "the lower-case name wins, as in curl")
        #expect(settings.proxy(for: URL(string: "http://llama.production.svc.cluster.local:8000/health")!) == nil)
        #expect(settings.proxy(for: URL(string: "https://prometheus.internal/api/v1/query")!) == nil)
        #expect(settings.proxy(for: URL(string: "http://127.0.0.1:8081/api")!) == nil, "this machine is never proxied")
        #expect(ProxySettings(environment: ["HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"]).proxy(for: URL(string: "https://slack.com")!) == nil)
        #expect(ProxySettings(environment: [:]).proxy(for: URL(string: "https://slack.com")!) == nil)
    }
}

/// A TCP listener on 127.0.0.1 that answers its first connection with fixed bytes and then
/// holds it open (`answer` nil: accepts nothing; the kernel still completes the connection).
final class RawServer: @unchecked Sendable {
    let port: Int
    private let socket: Int32
    private let lock = NSLock()
    private var request = ""
    private var connection: Int32 = -1
    private var listening = true

    init(answer: String?) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.socket = socket
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound, listen(socket, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
        guard let answer else { return }
        let thread = Thread { [self] in
            let client = accept(self.socket, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(client, &buffer, buffer.count)
            lock.withLock {
                connection = client
                request = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
            }
            _ = Array(answer.utf8).withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
        }
        thread.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/")! }
    func received() -> String { lock.withLock { request } }
    /// Each descriptor is closed once: closing a number twice can close what another part of
    /// the process (an event loop's epoll) was given meanwhile.
    func close() {
        lock.withLock {
            if listening { _ = Glibc.close(socket) }
            if connection >= 0 { _ = Glibc.close(connection) }
            (listening, connection) = (false, -1)
        }
    }

    deinit { close() }
}
