// swift-tools-version: 6.1
import PackageDescription

// MARK: - Package

let package = Package(
    name: "lips",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "LIPS", targets: ["LIPS"]),
        .executable(name: "lips", targets: ["lips"]),
    ],
    // `swift build --traits MPI` (`make build MPI=1`): one run across several processes, launched by
    // mpirun or srun, through Open MPI (libopenmpi-dev). Without it nothing needs MPI.
    traits: [
        .trait(name: "MPI", description: "Runs across MPI ranks (Open MPI, pkg-config ompi-c)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // MARK: - System libraries

        /// OpenBLAS (cblas.h) and LAPACKE through a shim header (`#include <cblas.h>`, no absolute
        /// paths), found through pkg-config's `openblas`; `providers` names the apt packages.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev", "pkg-config"])]
        ),

        /// zlib, to read `.gz` IDX files in-process.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        /// libjpeg-turbo (libjpeg62-turbo-dev) behind a C shim whose error handler longjmps
        /// instead of calling exit(); used by `lips data prepare tiny-imagenet`.
        .target(
            name: "CJPEG",
            path: "Sources/CJPEG",
            linkerSettings: [.linkedLibrary("jpeg")]
        ),

        /// Open MPI, only with the MPI trait: a header-only shim (see Sources/CMPI/shim.h).
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),

        /// Float16 <-> Float array conversion with F16C where the CPU has it (the stored LIPS gradients).
        .target(name: "CHalf", path: "Sources/CHalf"),

        // MARK: - Engine

        .target(
            name: "LIPS",
            dependencies: ["CBLAS", "CZlib", "CJPEG", "CHalf", .product(name: "Yams", package: "Yams"),
                           .target(name: "CMPI", condition: .when(traits: ["MPI"]))],
            exclude: ["Kernels/README.md", "Memory/README.md", "NN/README.md", "Data/README.md", "Federated/README.md",
                      "Config/README.md", "Run/README.md", "Sweep/README.md", "Support/README.md", "Distributed/README.md"],
            // The preset YAML files, compiled into the binary (`PackageResources`); `configs/` links here.
            resources: [.embedInCode("Config/Presets")],
            // `BuildInfo.commit`, the git commit baked in at build time (see Plugins/BuildInfo).
            plugins: ["BuildInfo"]
        ),

        /// Reads the repository's git HEAD (files only, no git process) into a generated Swift file,
        /// again whenever .git/HEAD or .git/logs/HEAD changes (see Plugins/BuildInfo/BuildInfo.swift).
        .plugin(name: "BuildInfo", capability: .buildTool(), path: "Plugins/BuildInfo"),

        // MARK: - Command-line tool

        .executableTarget(
            name: "lips",
            dependencies: [
                "LIPS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests

        .testTarget(
            name: "LIPSTests",
            dependencies: ["LIPS", "CHalf"],
            // Safetensors files written by PyTorch (reference/make_safetensors_fixture.py), read by path.
            exclude: ["Fixtures"]
        ),
    ]
)
