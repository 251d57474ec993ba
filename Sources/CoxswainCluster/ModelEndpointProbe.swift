import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP checks against a model server (vLLM's OpenAI-compatible API), as the seed's
/// validation steps run them with curl.
public struct ModelEndpointProbe: Sendable {
    public struct Response: Sendable {
        public var statusCode: Int
        public var body: Data
        public var latencyMilliseconds: Int
    }

    public struct Unreachable: Error, CustomStringConvertible {
        public let url: String
        public let reason: String
        public var description: String { "\(url) did not answer: \(reason)" }
    }

    private let session: URLSession

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = 4
        self.session = URLSession(configuration: configuration)
    }

    /// `GET {endpoint}/{path}`
    public func get(_ endpoint: URL, path: String, timeout: Duration) async throws(Unreachable) -> Response {
        var request = URLRequest(url: endpoint.appendingPathComponent(path))
        request.timeoutInterval = timeout.secondsDouble
        return try await send(request)
    }

    /// `POST {endpoint}/v1/completions` with the seed's body.
    public func completion(
        _ endpoint: URL, model: String, prompt: String, maxTokens: Int, temperature: Double, timeout: Duration
    ) async throws(Unreachable) -> Response {
        var request = URLRequest(url: endpoint.appendingPathComponent("v1/completions"))
        request.httpMethod = "POST"
        request.timeoutInterval = timeout.secondsDouble
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let body: [String: Any] = ["model": model, "prompt": prompt, "max_tokens": maxTokens, "temperature": temperature]
        request.httpBody = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return try await send(request)
    }

    private func send(_ request: URLRequest) async throws(Unreachable) -> Response {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let (data, response) = try await session.data(for: request)
            let elapsed = clock.now - started
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return Response(statusCode: status, body: data, latencyMilliseconds: elapsed.milliseconds)
        } catch {
            throw Unreachable(url: request.url?.absoluteString ?? "?", reason: (error as NSError).localizedDescription)
        }
    }
}
