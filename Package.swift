// swift-tools-version: 6.2
import PackageDescription

// Rooms follow ../shared/DESIGN.md: the domain (Core) has no I/O; the store, the
// cluster and the chat platforms each own one kind of outside world; the server wires
// them together; the executable is a thin CLI over the server.
let package = Package(
    name: "coxswain",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coxswain", targets: ["coxswain"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Socket Mode: a WebSocket client (with TLS) to Slack; the tests' Socket Mode server.
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        // Outbound HTTP on NIO's event loops (URLSession on Linux leaked per request).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .target(
            name: "CoxswainCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "CoxswainStore",
            dependencies: ["CoxswainCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Every outbound HTTP request: Slack, model servers, Prometheus.
        .target(
            name: "CoxswainHTTP",
            dependencies: [
                "CoxswainCore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "CoxswainCluster",
            dependencies: ["CoxswainCore", "CoxswainHTTP", "CChildProcess"]
        ),
        // posix_spawn with the GNU extensions Swift's Glibc module leaves out.
        .target(name: "CChildProcess"),
        .target(
            name: "CoxswainChat",
            dependencies: [
                "CoxswainCore", "CoxswainHTTP", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "WSClient", package: "swift-websocket"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "CoxswainServer",
            dependencies: [
                "CoxswainCore", "CoxswainStore", "CoxswainCluster", "CoxswainChat",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // A Kubernetes API server, model endpoints, a chart repository and a Slack sink in
        // one process, for `coxswain sandbox` and the tests that run the real helm and kubectl.
        .target(
            name: "CoxswainSandbox",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "coxswain",
            dependencies: [
                "CoxswainServer", "CoxswainSandbox", "CoxswainHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark's reference: a bare Hummingbird + GRDB webhook (Benchmarks/run.sh).
        .executableTarget(
            name: "bare-webhook",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Benchmarks/BareWebhook"
        ),
        .testTarget(name: "CoxswainCoreTests", dependencies: ["CoxswainCore"]),
        .testTarget(name: "CoxswainClusterTests", dependencies: ["CoxswainCluster"]),
        .testTarget(name: "CoxswainHTTPTests", dependencies: ["CoxswainHTTP"]),
        .testTarget(name: "CoxswainStoreTests", dependencies: ["CoxswainStore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "CoxswainChatTests", dependencies: ["CoxswainChat", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "CoxswainServerTests",
            dependencies: [
                "CoxswainServer", "CoxswainSandbox",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            // Fixtures (stand-in executables, captured payloads) are read from the source
            // tree, so the stand-ins keep their executable bit.
            exclude: ["Fixtures"]
        ),
    ]
)
