import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A model server's metrics as vLLM exposes them, with the traffic a test sets: requests per
/// second, the share that fails (HTTP 500) and their end-to-end latency. The counters grow
/// with time between scrapes, as real ones do.
final class ModelTraffic: Sendable {
    struct Settings: Sendable {
        var perSecond = 40.0
        var errorFraction = 0.0
        var latency = 0.2
    }
    private struct Counters {
        var ok = 0.0
        var failed = 0.0
        var buckets = [Double](repeating: 0, count: ModelTraffic.bounds.count)
        var count = 0.0
        var sum = 0.0
        var last: Date?
    }
    /// vLLM's buckets for `vllm:e2e_request_latency_seconds`.
    static let bounds: [Double] = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    private let settings = Mutex(Settings())
    private let counters = Mutex(Counters())

    func set(perSecond: Double? = nil, errorFraction: Double? = nil, latency: Double? = nil) {
        settings.withLock {
            if let perSecond { $0.perSecond = perSecond }
            if let errorFraction { $0.errorFraction = errorFraction }
            if let latency { $0.latency = latency }
        }
    }

    func exposition(model: String, now: Date = Date()) -> String {
        let current = settings.withLock { $0 }
        let c = counters.withLock { c -> Counters in
            let elapsed = c.last.map { now.timeIntervalSince($0) } ?? 0
            c.last = now
            let requests = current.perSecond * elapsed
            c.failed += requests * current.errorFraction
            c.ok += requests * (1 - current.errorFraction)
            for (index, bound) in Self.bounds.enumerated() where current.latency <= bound { c.buckets[index] += requests }
            c.count += requests
            c.sum += requests * current.latency
            return c
        }
        var lines = [
            "# TYPE http_requests_total counter",
            #"http_requests_total{handler="/v1/completions",method="POST",status="200"} \#(c.ok)"#,
            #"http_requests_total{handler="/v1/completions",method="POST",status="500"} \#(c.failed)"#,
            "# TYPE vllm:e2e_request_latency_seconds histogram",
        ]
        for (index, bound) in Self.bounds.enumerated() {
            lines.append(#"vllm:e2e_request_latency_seconds_bucket{model_name="\#(model)",le="\#(bound)"} \#(c.buckets[index])"#)
        }
        lines += [
            #"vllm:e2e_request_latency_seconds_bucket{model_name="\#(model)",le="+Inf"} \#(c.count)"#,
            #"vllm:e2e_request_latency_seconds_count{model_name="\#(model)"} \#(c.count)"#,
            #"vllm:e2e_request_latency_seconds_sum{model_name="\#(model)"} \#(c.sum)"#,
            "# TYPE vllm:request_success_total counter",
            #"vllm:request_success_total{model_name="\#(model)",finished_reason="length"} \#(c.ok)"#,
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The real Prometheus (Debian's package) scraping a simulated vLLM every second, labelled
/// as a ServiceMonitor labels it (`namespace`, `service`), for the watch tests.
final class PrometheusWorld: Sendable {
    static let executable = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// CI installs it; elsewhere the watch tests run where it is installed.
    static let available = executable != nil || RealTools.required

    /// What the simulated model server reports; a test changes it as it goes.
    let traffic: ModelTraffic
    let port: Int
    private let process: Process

    private init(traffic: ModelTraffic, port: Int, process: Process) {
        self.traffic = traffic
        self.port = port
        self.process = process
    }

    /// The configuration lines that point Coxswain at this Prometheus, with windows of seconds.
    func yaml(watch: String = "") -> String {
        """
        prometheus: { url: "http://127.0.0.1:\(port)", timeout: 2s }
        watch: { duration: 8s, interval: 1s, rate_window: 5s, baseline_window: 10s, error_for: 2s, latency_for: 2s, min_requests: 20\(watch) }
        """
    }

    var isRunning: Bool { process.isRunning }
    func stop() { if process.isRunning { process.terminate() } }

    /// The value of a query now, if Prometheus has one.
    func value(_ query: String) async throws -> Double? {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: query)]
        let (data, _) = try await URLSession.shared.data(from: try #require(components.url))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let result = ((object?["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first
        return ((result?["value"] as? [Any])?.last as? String).flatMap(Double.init)
    }

    /// Starts the metrics endpoint and Prometheus, waits until it holds `history` of data, runs `body`.
    static func run(
        namespace: String = "production", release: String = "llama-2-7b-production", model: String = "llama-2-7b",
        history: Int = 8, _ body: @Sendable (PrometheusWorld) async throws -> Void
    ) async throws {
        let executable = try #require(Self.executable, "prometheus is not installed (apt-get install prometheus)")
        let traffic = ModelTraffic()
        let router = Router()
        router.get("/metrics") { _, _ in traffic.exposition(model: model) }
        let metrics = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await metrics.test(.live) { client in
            let target = try #require(client.port)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prometheus-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let config = folder.appendingPathComponent("prometheus.yml")
            try """
            global: { scrape_interval: 1s, evaluation_interval: 1s }
            scrape_configs:
              - job_name: vllm
                static_configs:
                  - targets: ["127.0.0.1:\(target)"]
                    labels: { namespace: \(namespace), service: \(release) }
            """.write(to: config, atomically: true, encoding: .utf8)
            let port = try FreePort.find()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [
                "--config.file=\(config.path)", "--storage.tsdb.path=\(folder.appendingPathComponent("data").path)",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let world = PrometheusWorld(traffic: traffic, port: port, process: process)
            defer { world.stop() }
            try await Eventually.until("Prometheus to hold \(history) scrapes", timeout: .seconds(60)) {
                guard process.isRunning else { throw Exited() }
                return (try? await world.value(#"count_over_time(http_requests_total{status="200"}[1m])"#)).flatMap { $0 } ?? 0 >= Double(history)
            }
            try await body(world)
            world.stop()
            try await Eventually.until("Prometheus to stop") { !process.isRunning }
        }
    }
    struct Exited: Error {}
}

/// A TCP port nothing listens on right now (Prometheus needs one given to it).
enum FreePort {
    struct Failed: Error {}
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed() }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failed() }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw Failed() }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
