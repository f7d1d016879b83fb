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
        .target(name: "MeridianCore", swiftSettings: strict),
        .target(
            name: "MeridianManifests",
            dependencies: ["MeridianCore", "CLibYAML", "CLibGit2"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "meridian",
            dependencies: [
                "MeridianCore", "MeridianManifests",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "meridian-bench",
            dependencies: ["MeridianCore", "MeridianManifests"],
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
                "MeridianManifests", "MeridianCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        // Real repositories made with git in temp dirs, a real git daemon, real signatures.
        .testTarget(name: "GitSourceTests", dependencies: ["MeridianManifests", "MeridianCore"], swiftSettings: strict),
        // Runs the real `meridian` binary as a child process.
        .testTarget(name: "MeridianCLITests", dependencies: ["meridian", "MeridianManifests", "MeridianCore"], swiftSettings: strict),
    ]
)
