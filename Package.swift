// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Meridian",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meridian", targets: ["meridian"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CLibGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        // glibc's malloc.h (malloc_trim), which Swift's Glibc module leaves out.
        .systemLibrary(name: "CMalloc"),
        // __builtin_prefetch, which Swift has no spelling of (see `Prefetch` in MeridianCore).
        .systemLibrary(name: "CPrefetch"),
        .target(name: "MeridianCore", dependencies: ["CPrefetch"], swiftSettings: strict),
        .target(
            name: "MeridianManifests",
            dependencies: ["MeridianCore", "CLibYAML", "CLibGit2", "CMalloc"],
            swiftSettings: strict
        ),
        // RegionAdapter and its local, http and exec implementations.
        .target(
            name: "MeridianAdapters",
            dependencies: [
                "MeridianCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The executor, its journal and the evidence ledger (SQLite through GRDB).
        .target(
            name: "MeridianEngine",
            dependencies: [
                "MeridianCore", "MeridianAdapters",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The reconcile loop, as a Service.
        .target(
            name: "MeridianController",
            dependencies: [
                "MeridianCore", "MeridianManifests", "MeridianAdapters", "MeridianEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // HTTP surfaces: the region agent; the controller's probes, metrics and webhook.
        .target(
            name: "MeridianServer",
            dependencies: [
                "MeridianCore", "MeridianAdapters", "MeridianController",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "meridian",
            dependencies: [
                "MeridianCore", "MeridianManifests", "MeridianAdapters", "MeridianEngine", "MeridianServer", "MeridianController",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "meridian-bench",
            dependencies: ["MeridianCore", "MeridianManifests", "MeridianAdapters", "MeridianEngine"],
            path: "Benchmarks/MeridianBench",
            swiftSettings: strict
        ),
        .testTarget(name: "MeridianCoreTests", dependencies: ["MeridianCore"], swiftSettings: strict),
        .testTarget(
            name: "MeridianManifestsTests",
            dependencies: ["MeridianManifests", "MeridianCore"],
            swiftSettings: strict
        ),
        // Property-based and adversarial proofs of the fence and planner invariants, through the real loader.
        .testTarget(
            name: "InvariantTests",
            dependencies: [
                "MeridianManifests", "MeridianCore", "MeridianEngine",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        // Real repositories made with git in temp dirs, a real git daemon, real signatures.
        .testTarget(name: "GitSourceTests", dependencies: ["MeridianManifests", "MeridianCore"], swiftSettings: strict),
        // Runs the real `meridian` binary as a child process.
        .testTarget(name: "MeridianCLITests", dependencies: ["meridian", "MeridianManifests", "MeridianCore"], swiftSettings: strict),
        // Adapters, executor, journal and ledger against real local regions, real agents on
        // loopback and a real exec adapter script.
        .testTarget(
            name: "EngineTests",
            dependencies: [
                "meridian", "MeridianEngine", "MeridianAdapters", "MeridianServer", "MeridianManifests", "MeridianCore", "MeridianController",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
