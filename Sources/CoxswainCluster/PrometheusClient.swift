import CoxswainCore
import CoxswainHTTP
import Foundation

/// Prometheus's HTTP API (`/api/v1/query`), for the watch after a change. An empty answer
/// is "no data", not zero and not a failure (argo-rollouts #1466 is what treating it as a
/// failure does to people).
public struct PrometheusClient: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let baseURL: URL
    private let tokenFile: String?
    private let timeout: GoDuration
    private let http: OutboundHTTP

    public init(http: OutboundHTTP, configuration: CoxswainConfiguration.Prometheus) {
        self.http = http
        baseURL = configuration.url
        tokenFile = configuration.tokenFile
        timeout = configuration.timeout
    }

    /// The value of a query that yields one number (a `sum(...)`), at `time` or now; nil when
    /// Prometheus has no series for it (or its value is NaN, as `histogram_quantile` gives
    /// without observations).
    public func scalar(_ query: String, at time: Date? = nil) async throws(Failure) -> Double? {
        var components = URLComponents(url: baseURL.appendingPathComponent("api/v1/query"), resolvingAgainstBaseURL: false)
        var items = [URLQueryItem(name: "query", value: query)]
        if let time { items.append(URLQueryItem(name: "time", value: String(format: "%.3f", time.timeIntervalSince1970))) }
        components?.queryItems = items
        // `+` in PromQL would be read as a space in a query string.
        let encoded = components?.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        components?.percentEncodedQuery = encoded
        guard let url = components?.url else { throw Failure(description: "cannot build a query URL from \(baseURL)") }
        var headers: [(String, String)] = []
        if let tokenFile {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else {
                throw Failure(description: "prometheus.token_file \(tokenFile) cannot be read")
            }
            headers.append(("Authorization", "Bearer \(token)"))
        }
        let answer: OutboundHTTP.Answer
        do { answer = try await http.send(.get, url, headers: headers, timeout: timeout.duration) } catch {
            throw Failure(description: "\(baseURL.host ?? "Prometheus"): \(error.reason)")
        }
        let (status, data) = (answer.status, answer.body)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard status == 200, object?["status"] as? String == "success" else {
            let detail = object?["error"] as? String ?? String(decoding: data.prefix(200), as: UTF8.self)
            throw Failure(description: "HTTP \(status) from Prometheus: \(detail)")
        }
        let result = (object?["data"] as? [String: Any])?["result"]
        let sample: [Any]?
        if let vector = result as? [[String: Any]] {
            guard vector.count <= 1 else { throw Failure(description: "the query gives \(vector.count) series, not one; wrap it in sum(...)") }
            sample = vector.first?["value"] as? [Any]
        } else {
            sample = result as? [Any]  // a scalar result
        }
        guard let text = sample?.last as? String else { return nil }
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }
}
