// swift-tools-version: 6.1
// libFuzzer targets for the engine's readers of untrusted input (`make fuzz`). Like Benchmarks/,
// a package of its own, so `swift build` and `make test` of the engine never build it. Build it
// with `swift build --sanitize fuzzer --sanitize address` (Makefile: `make fuzz`): every module,
// the engine's included, is then instrumented for coverage, and each target links libFuzzer's main.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which is whatever the clone is called.
let engine = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// One libFuzzer executable per reader; `Sources/fuzz-NAME/Entry.swift` calls `FuzzTargets.NAME`.
let names = ["idx", "cifar", "tinyimagenet", "jpeg", "png", "npy", "config", "sweep", "checkpoint"]

let package = Package(
    name: "LIPSFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: "../"),
    ],
    targets: [
        // The targets' bodies, reaching the engine's internal readers (`@testable import`: the
        // engine must be built with testing enabled, as debug builds are).
        .target(
            name: "FuzzTargets",
            dependencies: [.product(name: "LIPS", package: engine)]
        ),
    ] + names.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzTargets"], path: "Sources/fuzz-\(name)")
    }
)
