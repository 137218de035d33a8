// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "kumo",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kumo", targets: ["kumo"]),
        .executable(name: "kumo-init", targets: ["kumo-init"]),
        .library(name: "KumoEvents", targets: ["KumoEvents"]),
        .library(name: "KumoManifest", targets: ["KumoManifest"]),
        .library(name: "KumoScaling", targets: ["KumoScaling"]),
        .library(name: "KumoPlan", targets: ["KumoPlan"]),
        .library(name: "KumoState", targets: ["KumoState"]),
        .library(name: "KumoApply", targets: ["KumoApply"]),
        .library(name: "KumoRuntime", targets: ["KumoRuntime"]),
        .library(name: "KumoRender", targets: ["KumoRender"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // The EventBridge event language: patterns, transformers, schedules. Pure (no I/O): the
        // validator, the runtime's bus and the CLI share it.
        .target(name: "KumoEvents"),
        .target(
            name: "KumoManifest",
            dependencies: ["CYAML", "KumoEvents"]
        ),
        // The autoscaler: linear R(t) and HPA target tracking with behavior, as a value-type state
        // machine with the clock passed in, and the trace replay of `kumo simulate`. Pure (no
        // I/O): the runtime's live loop and the CLI share it.
        .target(
            name: "KumoScaling",
            dependencies: ["KumoManifest", "KumoEvents"]
        ),
        .target(
            name: "KumoPlan",
            dependencies: [
                "KumoManifest",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "KumoState",
            dependencies: [
                "KumoPlan",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "KumoApply",
            dependencies: [
                "KumoManifest",
                "KumoPlan",
                "KumoState",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `kumo render`: the project as an AWS SAM template or Kubernetes objects, with findings
        // at their source positions. Pure (no I/O).
        .target(
            name: "KumoRender",
            dependencies: ["KumoManifest", "KumoEvents"]
        ),
        .target(name: "CKumoSpawn"),
        // The first process of each isolated worker's and replica's pid namespace: a C program,
        // so that one per worker costs a few hundred kilobytes.
        .executableTarget(
            name: "kumo-init",
            // A C program that needs only libc. The Swift driver links the Swift runtime into
            // every executable it makes; linked statically (main.c answers swiftrt.o's two
            // references, so nothing of the runtime is pulled in) it loads no shared library at
            // all: an isolated start costs 0.8 ms more than a bare one instead of 2.7 ms.
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        .target(
            name: "KumoRuntime",
            dependencies: [
                "CKumoSpawn",
                "KumoEvents",
                "KumoPlan",
                "KumoState",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.copy("Bootstraps")]
        ),
        .executableTarget(
            name: "kumo",
            dependencies: [
                "KumoEvents",
                "KumoManifest",
                "KumoPlan",
                "KumoScaling",
                "KumoState",
                "KumoApply",
                "KumoRuntime",
                "KumoRender",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "kumo-bench",
            dependencies: [
                "CYAML",
                "KumoEvents",
                "KumoScaling",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/kumo-bench"
        ),
        .target(name: "KumoTestSupport", dependencies: ["KumoManifest", "KumoPlan", "KumoState"], path: "Tests/KumoTestSupport"),
        // The `kumo` binary end to end, as a user runs it (with a runtime where a command needs one).
        .testTarget(
            name: "KumoCLITests",
            dependencies: ["KumoManifest", "KumoPlan", "KumoState", "KumoTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "KumoEventsTests",
            dependencies: ["KumoEvents"]
        ),
        .testTarget(
            name: "KumoRenderTests",
            dependencies: ["KumoManifest", "KumoRender", "KumoTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "KumoScalingTests",
            dependencies: ["KumoManifest", "KumoScaling"]
        ),
        .testTarget(
            name: "KumoManifestTests",
            dependencies: ["KumoManifest", "KumoTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "KumoPlanTests",
            dependencies: ["KumoManifest", "KumoPlan", "KumoState", "KumoTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "KumoStateTests",
            dependencies: ["KumoManifest", "KumoPlan", "KumoState", "KumoTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "KumoApplyTests",
            dependencies: ["KumoManifest", "KumoPlan", "KumoState", "KumoApply", "KumoTestSupport"]
        ),
        .testTarget(
            name: "KumoRuntimeTests",
            dependencies: [
                "KumoManifest", "KumoPlan", "KumoState", "KumoApply", "KumoRuntime", "KumoTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
