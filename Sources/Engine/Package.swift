// swift-tools-version:6.0
// The compute engine is its own package so that it is built as ONE shared
// library (libReelEngine.so): the daemon and every plugin it dlopens then share
// a single copy of the engine, and with it a single thread pool. A target of
// the root package would be linked statically into each plugin instead.
import PackageDescription

let package = Package(
    name: "Engine",
    products: [
        .library(name: "ReelEngine", type: .dynamic, targets: ["ReelEngine"]),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "ReelEngine", dependencies: ["COpenBLAS"], path: "Sources/ReelEngine"),
    ],
    swiftLanguageModes: [.v5]
)
