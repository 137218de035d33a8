// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "kumo",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kumo", targets: ["kumo"]),
        .library(name: "KumoManifest", targets: ["KumoManifest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .executableTarget(
            name: "kumo",
            dependencies: [
                "KumoManifest",
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
    ],
    swiftLanguageModes: [.v6]
)
