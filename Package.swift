// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "kumo",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kumo", targets: ["kumo"]),
        .library(name: "KumoManifest", targets: ["KumoManifest"]),
        .library(name: "KumoPlan", targets: ["KumoPlan"]),
        .library(name: "KumoState", targets: ["KumoState"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(
            name: "KumoManifest",
            dependencies: ["CYAML"]
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
            ]
        ),
        .executableTarget(
            name: "kumo",
            dependencies: [
                "KumoManifest",
                "KumoPlan",
                "KumoState",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "kumo-bench",
            dependencies: ["CYAML"],
            path: "Benchmarks/kumo-bench"
        ),
        .testTarget(
            name: "KumoManifestTests",
            dependencies: ["KumoManifest"],
            resources: []
        ),
        .testTarget(
            name: "KumoPlanTests",
            dependencies: ["KumoManifest", "KumoPlan", "KumoState"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
