// swift-tools-version: 6.2
import PackageDescription

// Rooms follow docs/design.md: the domain (Core) has no I/O; the store, the cluster and
// the chat platforms each own one kind of outside world; the server wires them together;
// the executable is a thin CLI over the server. Linux only (glibc: posix_spawn's GNU
// extensions, pipe2, closefrom), so no Apple platform is declared.
let package = Package(
    name: "coxswain",
    products: [
        .executable(name: "coxswain", targets: ["coxswain"])
    ],
    // Every version exact (an application builds what CI tested), including the packages the
    // direct ones bring in, which SwiftPM would otherwise resolve to the newest allowed:
    // `PinnedVersionsTests` fails when a resolved version differs from the one named here.
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        // Socket Mode: a WebSocket client (with TLS) to Slack; the tests' Socket Mode server.
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", exact: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", exact: "2.8.1"),
        // Outbound HTTP on NIO's event loops (URLSession on Linux leaked per request).
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        // The PostgreSQL store, for several replicas.
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        // Pinned only: what the packages above depend on.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", exact: "1.5.0"),
        .package(url: "https://github.com/apple/swift-algorithms.git", exact: "1.2.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", exact: "1.4.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", exact: "1.7.3"),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", exact: "1.7.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-transport-services.git", exact: "1.28.0"),
        .package(url: "https://github.com/apple/swift-numerics.git", exact: "1.1.1"),
        .package(url: "https://github.com/apple/swift-service-context.git", exact: "1.5.1"),
        .package(url: "https://github.com/apple/swift-system.git", exact: "1.8.1"),
    ],
    targets: [
        .target(
            name: "CoxswainCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "CoxswainAudit",
            dependencies: ["CoxswainCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "CoxswainStore",
            dependencies: ["CoxswainCore", "CoxswainAudit", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The same ports on PostgreSQL, for several replicas sharing one database.
        .target(
            name: "CoxswainPostgresStore",
            dependencies: [
                "CoxswainCore", "CoxswainAudit", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                // Only for its error type: what the pool reports when it cannot connect.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
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
                "CoxswainCore", "CoxswainAudit", "CoxswainStore", "CoxswainPostgresStore", "CoxswainCluster", "CoxswainChat", "CoxswainHTTP",
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
                "CoxswainServer", "CoxswainSandbox", "CoxswainHTTP", "CoxswainStore", "CoxswainPostgresStore", "CoxswainChat", "CoxswainCore",
                "CoxswainAudit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The benchmark's reference: a bare Hummingbird webhook on GRDB or postgres-nio (Benchmarks/run.sh, postgres.sh).
        .executableTarget(
            name: "bare-webhook",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/BareWebhook"
        ),
        // Debian's PostgreSQL, started by the tests that need one (a library only tests use).
        .target(
            name: "PostgresTestServer",
            dependencies: [
                "CoxswainCore", "CoxswainPostgresStore", "CChildProcess", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PostgresTestServer"
        ),
        .testTarget(name: "CoxswainCoreTests", dependencies: ["CoxswainCore"]),
        .testTarget(name: "CoxswainAuditTests", dependencies: ["CoxswainAudit", "CoxswainCore"]),
        .testTarget(name: "CoxswainClusterTests", dependencies: ["CoxswainCluster", "CoxswainCore"]),
        .testTarget(name: "CoxswainHTTPTests", dependencies: ["CoxswainHTTP"]),
        .testTarget(
            name: "CoxswainStoreTests",
            dependencies: [
                "CoxswainStore", "CoxswainPostgresStore", "CoxswainCore", "CoxswainAudit", "PostgresTestServer", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]),
        .testTarget(name: "CoxswainChatTests", dependencies: ["CoxswainChat", "CoxswainCore", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "CoxswainServerTests",
            dependencies: [
                "CoxswainServer", "CoxswainSandbox", "CoxswainStore", "CoxswainPostgresStore", "PostgresTestServer", "CoxswainChat", "CoxswainCore",
                "CoxswainHTTP", "CoxswainCluster", "CoxswainAudit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
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
