// swift-tools-version: 6.1
// The benchmarks live in their own package (as swift-nio's do), so `swift build` and `make test`
// of the engine never build package-benchmark and its dependencies.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which is whatever the clone is called.
let engine = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "LIPSBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "LIPSBenchmarks",
            dependencies: [
                .product(name: "LIPS", package: engine),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LIPSBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
