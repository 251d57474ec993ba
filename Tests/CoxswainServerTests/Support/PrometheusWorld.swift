import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A model server's metrics as vLLM exposes them, with the traffic a test sets: requests per
/// second, the share that fails (HTTP 500), their end-to-end latency, time to first token,
/// inter-token latency, the queue and the KV cache, under the metric names of a current vLLM
/// or an older one. The counters grow with time between scrapes, as real ones do.
final class ModelTraffic: Sendable {
    /// vLLM renamed two of its metrics; a server exposes one generation of names.
    enum Names: Sendable { case current, older }
    struct Settings: Sendable {
        var perSecond = 40.0
        var errorFraction = 0.0
        var latency = 0.2
        var timeToFirstToken = 0.07
        var interTokenLatency = 0.03
        var waiting = 0.0
        var kvCache = 0.3
        var names = Names.current
    }
    /// A cumulative histogram: every observation lands in each bucket whose bound is at least its value.
    struct Histogram {
        let bounds: [Double]
        var buckets: [Double]
        var count = 0.0
        var sum = 0.0
        init(_ bounds: [Double]) { self.bounds = bounds; buckets = Array(repeating: 0, count: bounds.count) }
        mutating func observe(_ value: Double, times: Double) {
            for (index, bound) in bounds.enumerated() where value <= bound { buckets[index] += times }
            count += times
            sum += value * times
        }
        func lines(_ name: String, help: String, model: String) -> [String] {
            var lines = ["# HELP \(name) \(help)", "# TYPE \(name) histogram"]
            for (index, bound) in bounds.enumerated() { lines.append(#"\#(name)_bucket{model_name="\#(model)",le="\#(bound)"} \#(buckets[index])"#) }
            return lines + [
                #"\#(name)_bucket{model_name="\#(model)",le="+Inf"} \#(count)"#, #"\#(name)_count{model_name="\#(model)"} \#(count)"#,
                #"\#(name)_sum{model_name="\#(model)"} \#(sum)"#,
            ]
        }
    }
    private struct Counters {
        var ok = 0.0
        var failed = 0.0
        /// vLLM's buckets for each histogram.
        var e2e = Histogram([0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0])
        var firstToken = Histogram([0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0])
        var interToken = Histogram([0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5])
        var last: Date?
    }
    private let settings = Mutex(Settings())
    private let counters = Mutex(Counters())

    init(names: Names = .current) { settings.withLock { $0.names = names } }

    func set(
        perSecond: Double? = nil, errorFraction: Double? = nil, latency: Double? = nil, timeToFirstToken: Double? = nil,
        waiting: Double? = nil, kvCache: Double? = nil
    ) {
        settings.withLock {
            if let perSecond { $0.perSecond = perSecond }
            if let errorFraction { $0.errorFraction = errorFraction }
            if let latency { $0.latency = latency }
            if let timeToFirstToken { $0.timeToFirstToken = timeToFirstToken }
            if let waiting { $0.waiting = waiting }
            if let kvCache { $0.kvCache = kvCache }
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
            c.e2e.observe(current.latency, times: requests)
            c.firstToken.observe(current.timeToFirstToken, times: requests)
            c.interToken.observe(current.interTokenLatency, times: requests * 100)  // about 100 tokens a request
            return c
        }
        let older = current.names == .older
        var lines = [
            "# TYPE http_requests_total counter",
            #"http_requests_total{handler="/v1/completions",method="POST",status="200"} \#(c.ok)"#,
            #"http_requests_total{handler="/v1/completions",method="POST",status="500"} \#(c.failed)"#,
        ]
        lines += c.e2e.lines("vllm:e2e_request_latency_seconds", help: "Histogram of end to end request latency in seconds.", model: model)
        lines += c.firstToken.lines("vllm:time_to_first_token_seconds", help: "Histogram of time to first token in seconds.", model: model)
        lines += older
            ? c.interToken.lines("vllm:time_per_output_token_seconds", help: "Histogram of time per output token in seconds.", model: model)
            : c.interToken.lines("vllm:inter_token_latency_seconds", help: "Histogram of inter-token latency in seconds.", model: model)
        let cache =
            older
            ? ("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.")
            : ("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.")
        lines += [
            "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.", "# TYPE vllm:num_requests_waiting gauge",
            #"vllm:num_requests_waiting{model_name="\#(model)"} \#(current.waiting)"#,
            "# HELP \(cache.0) \(cache.1)", "# TYPE \(cache.0) gauge", #"\#(cache.0){model_name="\#(model)"} \#(current.kvCache)"#,
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
    func yaml(duration: String = "8s", watch: String = "") -> String {
        """
        prometheus: { url: "http://127.0.0.1:\(port)", timeout: 2s }
        watch: { duration: \(duration), interval: 1s, rate_window: 5s, baseline_window: 10s, error_for: 2s, latency_for: 2s, min_requests: 20\(watch) }
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
        names: ModelTraffic.Names = .current, history: Int = 8, _ body: @Sendable (PrometheusWorld) async throws -> Void
    ) async throws {
        let executable = try #require(Self.executable, "prometheus is not installed (apt-get install prometheus)")
        let traffic = ModelTraffic(names: names)
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
