import CoxswainHTTP
import Foundation

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

    private let http: OutboundHTTP

    public init(http: OutboundHTTP) { self.http = http }

    /// `GET {endpoint}/{path}`
    public func get(_ endpoint: URL, path: String, timeout: Duration) async throws(Unreachable) -> Response {
        try await send(.get, endpoint.appendingPathComponent(path), body: nil, timeout: timeout)
    }

    /// `POST {endpoint}/v1/completions` with the seed's body.
    public func completion(
        _ endpoint: URL, model: String, prompt: String, maxTokens: Int, temperature: Double, timeout: Duration
    ) async throws(Unreachable) -> Response {
        let data = try? Self.encoder.encode(CompletionRequest(model: model, prompt: prompt, maxTokens: maxTokens, temperature: temperature))
        return try await send(.post, endpoint.appendingPathComponent("v1/completions"), body: data, timeout: timeout)
    }

    private struct CompletionRequest: Encodable {
        let model: String, prompt: String, maxTokens: Int, temperature: Double
        enum CodingKeys: String, CodingKey { case model, prompt, maxTokens = "max_tokens", temperature }
    }

    /// JSONEncoder, not JSONSerialization: the latter sorts keys with a locale, which maps ICU for good (~2.5 MB).
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private func send(_ method: OutboundHTTP.Method, _ url: URL, body: Data?, timeout: Duration) async throws(Unreachable) -> Response {
        let clock = ContinuousClock()
        let started = clock.now
        let headers = body == nil ? [] : [("Content-Type", "application/json")]
        do {
            let answer = try await http.send(method, url, headers: headers, body: body, timeout: timeout)
            return Response(statusCode: answer.status, body: answer.body, latencyMilliseconds: (clock.now - started).milliseconds)
        } catch {
            throw Unreachable(url: url.absoluteString, reason: error.reason)
        }
    }
}
