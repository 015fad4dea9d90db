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
        // Safetensors headers are parsed with libjansson, reel's one JSON codec.
        .systemLibrary(name: "CEngineJansson", path: "Sources/CEngineJansson", pkgConfig: "jansson",
                       providers: [.apt(["libjansson-dev"])]),
        // Hand-written kernels: the thread pool, attention, convolution lowering,
        // elementwise loops. Always -O3 (even in debug builds, so tests stay quick);
        // wide-ISA paths are chosen at run time from cpuid, so the library still
        // runs on plain x86-64.
        .target(name: "CReelKernels", dependencies: ["COpenBLAS"], path: "Sources/CReelKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fno-trapping-math", "-Wall"])],
                linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]),
        .target(name: "ReelEngine", dependencies: ["COpenBLAS", "CReelKernels", "CEngineJansson"], path: "Sources/ReelEngine"),
    ],
    swiftLanguageModes: [.v5]
)
