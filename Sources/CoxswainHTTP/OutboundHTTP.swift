import AsyncHTTPClient
import CoxswainCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Every HTTP request Coxswain makes (Slack's Web API and response URLs, the model servers'
/// probes, Prometheus), on SwiftNIO's event loops, the same threads the webhook is served
/// on. It replaced URLSession, which on Linux leaks about 1.5 KB per request inside
/// libcurl's URL parsing (`CFURLSessionCurlHostIsEqual`, seen with heaptrack) and hops
/// through a thread of its own for every call.
///
/// A refused connection fails at once (no silent reconnecting until the deadline: the
/// callers decide about retries), and the whole exchange, answer body included, must end
/// within its timeout. `HTTPS_PROXY`/`HTTP_PROXY` and `NO_PROXY` are honoured as curl does.
///
/// One per process, made where the process starts (the server, a CLI command) and handed to
/// whatever sends requests: it keeps one client per way out (direct, or through one proxy)
/// with its connections alive for the next request. `shutdown()` closes them; an instance
/// let go without it closes them as it goes.
public final class OutboundHTTP: Sendable {
    public enum Method: Sendable { case get, post, put }

    public struct Answer: Sendable {
        public var status: Int
        public var body: Data
        var headers: HTTPHeaders
        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// Why there is no answer, in a few words a person can act on.
    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The largest answer body read; anything Coxswain asks for is far smaller.
    public static let maximumBody = 8 << 20

    private let proxies: ProxySettings
    private let clients = Mutex<[HTTPClient.Configuration.Proxy?: HTTPClient]>([:])

    /// - Parameter environment: where the proxy settings are read (the process's environment).
    public init(environment: [String: String]) {
        proxies = ProxySettings(environment: environment)
    }

    /// Closes every connection; requests made afterwards fail.
    public func shutdown() async {
        for client in clients.withLock({ clients in defer { clients = [:] }; return Array(clients.values) }) {
            try? await client.shutdown()
        }
    }

    deinit {
        // HTTPClient must be shut down before it goes; this does not wait for it.
        for client in clients.withLock({ Array($0.values) }) { client.shutdown { _ in } }
    }

    public func send(
        _ method: Method, _ url: URL, headers: [(String, String)] = [], body: Data? = nil, timeout: Duration
    ) async throws(Failure) -> Answer {
        var request = HTTPClientRequest(url: url.absoluteString)
        switch method {
        case .get: request.method = .GET
        case .post: request.method = .POST
        case .put: request.method = .PUT
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let client = client(through: proxies.proxy(for: url))
        do {
            let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            let deadline = NIODeadline.now() + .nanoseconds(nanoseconds)
            // AsyncHTTPClient's deadline ends at the answer's head; a body that stops coming
            // would be waited for forever, so the whole exchange races the timeout.
            let prepared = request
            return try await withThrowingTaskGroup(of: Answer?.self) { group in
                group.addTask {
                    let response = try await client.execute(prepared, deadline: deadline)
                    let collected = try await response.body.collect(upTo: Self.maximumBody)
                    return Answer(status: Int(response.status.code), body: Data(collected.readableBytesView), headers: response.headers)
                }
                group.addTask {
                    try await cancellableSleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let answer = try await group.next() ?? nil else { throw HTTPClientError.deadlineExceeded }
                return answer
            }
        } catch {
            throw Failure(reason: Self.reason(error, timeout: timeout))
        }
    }

    /// One client per way out (direct, or through one proxy): each keeps its connections alive
    /// for the next request.
    private func client(through proxy: HTTPClient.Configuration.Proxy?) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[proxy] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.timeout.connect = .seconds(10)
            configuration.redirectConfiguration = .disallow
            configuration.proxy = proxy
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[proxy] = client
            return client
        }
    }

    static func reason(_ error: any Error, timeout: Duration) -> String {
        if let failure = error as? HTTPClientError {
            switch failure {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return "no answer within \(timeout)"
            case .remoteConnectionClosed: return "the connection was closed before the answer was complete"
            case .httpProxyHandshakeTimeout: return "the proxy did not answer within \(timeout)"
            default: return String(describing: failure)
            }
        }
        if error is NIOTooManyBytesError { return "the answer was larger than \(maximumBody >> 20) MiB" }
        let text = String(describing: error)
        for (needle, reason) in [
            ("Connection refused", "connection refused"), ("Connection reset", "connection reset"),
            ("No route to host", "no route to host"), ("Network is unreachable", "network unreachable"),
            ("NXDOMAIN", "no such host"), ("Name or service not known", "no such host"), ("resolution", "no such host"),
        ] where text.contains(needle) {
            return reason
        }
        return text
    }
}

/// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (or their lower-case names), read as curl reads
/// them; this machine's own address (the console's server, a local model) is never proxied.
struct ProxySettings: Sendable {
    var https: HTTPClient.Configuration.Proxy?
    var http: HTTPClient.Configuration.Proxy?
    /// Hosts (and their subdomains) reached directly; `*` means every host.
    var direct: [String]

    init(environment: [String: String]) {
        func value(_ name: String) -> String? {
            (environment[name.lowercased()] ?? environment[name]).flatMap { $0.isEmpty ? nil : $0 }
        }
        https = value("HTTPS_PROXY").flatMap(Self.proxy)
        http = value("HTTP_PROXY").flatMap(Self.proxy)
        direct = (value("NO_PROXY") ?? "").split(separator: ",").map {
            var host = $0.trimmingCharacters(in: .whitespaces).lowercased()
            if host.hasPrefix(".") { host.removeFirst() }
            if let colon = host.lastIndex(of: ":"), !host.contains("]") { host = String(host[..<colon]) }
            return host
        }.filter { !$0.isEmpty }
    }

    func proxy(for url: URL) -> HTTPClient.Configuration.Proxy? {
        guard let host = url.host?.lowercased(), !["localhost", "127.0.0.1", "::1", "[::1]"].contains(host) else { return nil }
        if direct.contains(where: { $0 == "*" || host == $0 || host.hasSuffix("." + $0) }) { return nil }
        return url.scheme == "https" ? https : http
    }

    /// `http://[user:password@]host[:port]` (a bare `host:port` as curl takes it, too).
    static func proxy(_ text: String) -> HTTPClient.Configuration.Proxy? {
        guard let url = URL(string: text.contains("://") ? text : "http://" + text), let host = url.host, !host.isEmpty else { return nil }
        let authorization = url.user.map { HTTPClient.Authorization.basic(username: $0.removingPercentEncoding ?? $0, password: url.password ?? "") }
        return .server(host: host, port: url.port ?? 80, authorization: authorization)
    }
}
