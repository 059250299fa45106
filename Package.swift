// swift-tools-version:6.2
import PackageDescription

/// Settings every target shares: Swift 6 strict concurrency and explicit existentials.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Members resolve only from modules a file imports: no Foundation method slips in
    // through a dependency that imports it (that alone linked ICU into the binaries).
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluiced", targets: ["sluiced"]),
        .executable(name: "sluice", targets: ["sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // No default traits: FullFoundation links Foundation's ICU (40 MB) for one DateFormatter,
        // ConfigurationSupport a config library the daemon does not use.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        .target(
            name: "SluiceStorage",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["FORMAT.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SluiceEngine",
            dependencies: [
                "SluiceStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["Consumers/POSITIONS.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SluiceKinesis",
            dependencies: [
                "SluiceStorage", "SluiceEngine",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Kinesis API served over HTTP: the only module that links the HTTP server.
        .target(
            name: "SluiceKinesisServer",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceKinesis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SluiceGateway",
            dependencies: [
                "SluiceStorage", "SluiceEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Spool/SPOOL.md"],
            swiftSettings: swiftSettings
        ),
        // zlib and libzstd, imported by SluiceExports only (objects' compression).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // Exports: durable consumers of local streams that hand records to a destination.
        .target(
            name: "SluiceExports",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceKinesis", "CZlib", "CZstd",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Delivery/OBJECTS.md"],
            swiftSettings: swiftSettings
        ),
        // libmosquitto, imported by SluiceMQTT only.
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .target(
            name: "SluiceFunctions",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceKinesis", "SluiceGateway", "SluiceExports",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["FUNCTIONS.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SluiceMQTT",
            dependencies: [
                "CMosquitto", "SluiceStorage", "SluiceGateway", "SluiceEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The configuration file: parsed, checked (every refusal names the key and what to
        // do) and turned into each module's settings. A library, so tests reach it.
        .target(
            name: "SluiceConfiguration",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceKinesis", "SluiceGateway", "SluiceMQTT", "SluiceExports", "SluiceFunctions",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // glibc's mallopt, for the executables' allocator tuning (see its shim.h).
        .systemLibrary(name: "CMallocTuning"),
        // The daemon's setpriority(2): Dispatch's QoS renice clamped to what the service may do.
        .target(name: "CThreadPriority"),
        // libsystemd, imported by SluiceSystemd only.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "SluiceSystemd",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sluiced",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceKinesis", "SluiceKinesisServer", "SluiceGateway", "SluiceMQTT", "SluiceSystemd", "SluiceExports", "SluiceFunctions", "SluiceConfiguration", "CMallocTuning", "CThreadPriority",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceKinesis", "SluiceGateway", "SluiceExports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sluice-bench",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceKinesis", "SluiceKinesisServer", "SluiceGateway", "SluiceMQTT", "CMosquitto", "SluiceExports", "SluiceFunctions", "CMallocTuning",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets: temporary directories, damaged files, faults.
        .target(
            name: "SluiceTestSupport",
            dependencies: [
                "SluiceStorage", "SluiceEngine", "SluiceGateway", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SluiceTestSupport", swiftSettings: swiftSettings
        ),
        .testTarget(name: "SluiceStorageTests", dependencies: ["SluiceStorage", "SluiceTestSupport"], exclude: ["Golden"], swiftSettings: swiftSettings),
        .testTarget(name: "SluiceEngineTests", dependencies: ["SluiceEngine", "SluiceTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SluiceGatewayTests",
            dependencies: ["SluiceGateway", "SluiceTestSupport", .product(name: "Crypto", package: "swift-crypto"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            exclude: ["Golden"], swiftSettings: swiftSettings
        ),
        .testTarget(name: "SluiceExportsTests", dependencies: ["SluiceExports", "SluiceKinesis", "SluiceTestSupport", "CZlib", "CZstd"], swiftSettings: swiftSettings),
        .testTarget(name: "SluiceFunctionsTests", dependencies: ["SluiceFunctions", "SluiceEngine", "SluiceGateway", "SluiceTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SluiceMQTTTests", dependencies: ["SluiceMQTT", "SluiceTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SluiceSystemdTests", dependencies: ["SluiceSystemd", "SluiceTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SluiceConfigurationTests", dependencies: ["SluiceConfiguration", "SluiceTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SluiceKinesisTests",
            dependencies: ["SluiceKinesis", "SluiceTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SluiceKinesisServerTests",
            dependencies: [
                "SluiceKinesisServer", "SluiceKinesis", "SluiceEngine", "SluiceStorage", "SluiceTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
