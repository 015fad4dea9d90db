// swift-tools-version:6.0
// reel: a local media-generation daemon (reeld), its thin client (reel), stage
// plugins loaded as dynamic libraries, and the benchmark tool (reel-bench).
//
// The file is split into one block per area so that work on one area does not
// touch another's lines. docs/architecture.md is the map.
import PackageDescription

let languageModes: [SwiftLanguageMode] = [.v5]

// MARK: - System libraries (pkg-config)

let systemTargets: [Target] = [
    .systemLibrary(name: "CJansson", path: "Sources/CJansson", pkgConfig: "jansson",
                   providers: [.apt(["libjansson-dev"])]),
    .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg",
                   pkgConfig: "libavformat libavcodec libavutil libswscale libswresample",
                   providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]),
    .systemLibrary(name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd",
                   providers: [.apt(["libsystemd-dev"])]),
]

let engine: Target.Dependency = .product(name: "ReelEngine", package: "Engine")

// MARK: - Protocol, plugin ABI, daemon, client (issue: daemon)

let daemonProducts: [Product] = [
    .executable(name: "reeld", targets: ["reeld"]),
    .executable(name: "reel", targets: ["reel"]),
    .library(name: "ReelPluginKit", targets: ["ReelPluginKit"]),
    // Plugins used only by the tests: a Swift one that renders a synthetic
    // pattern, a C one that echoes (proves the header is plain C), and a C one
    // that declares another ABI version (the host must skip it).
    .library(name: "ReelFixturePlugin", type: .dynamic, targets: ["ReelFixturePlugin"]),
    .library(name: "ReelFixtureEchoC", type: .dynamic, targets: ["ReelFixtureEchoC"]),
    .library(name: "ReelFixtureWrongABI", type: .dynamic, targets: ["ReelFixtureWrongABI"]),
]

let daemonTargets: [Target] = [
    .target(name: "ReelProtocol", dependencies: ["CJansson"], path: "Sources/Protocol"),
    .target(name: "CReelPlugin", path: "Sources/PluginABI"),
    .target(name: "ReelPluginKit", dependencies: ["CReelPlugin", "ReelProtocol"], path: "Sources/PluginKit"),
    .executableTarget(name: "reeld", dependencies: [
        "ReelProtocol", "CReelPlugin", "ReelMedia", "ReelSystemd",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "TOMLKit", package: "TOMLKit"),
    ], path: "Sources/Daemon"),
    .executableTarget(name: "reel", dependencies: [
        "ReelProtocol",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ], path: "Sources/Client"),
    .target(name: "ReelFixturePlugin", dependencies: ["ReelPluginKit"], path: "Tests/FixturePlugin"),
    .target(name: "ReelFixtureEchoC", dependencies: ["CReelPlugin"], path: "Tests/FixtureCPlugins/Echo"),
    .target(name: "ReelFixtureWrongABI", dependencies: ["CReelPlugin"], path: "Tests/FixtureCPlugins/WrongABI"),
    .testTarget(name: "ProtocolTests", dependencies: ["ReelProtocol"], path: "Tests/ProtocolTests"),
    .testTarget(name: "DaemonTests", dependencies: ["ReelProtocol", "ReelTestSupport"], path: "Tests/DaemonTests"),
    // Shared by the test targets: start a real reeld on a temporary socket, talk to it.
    .target(name: "ReelTestSupport", dependencies: ["ReelProtocol"], path: "Tests/Support"),
]

// MARK: - systemd glue (issue: systemd)

let systemdTargets: [Target] = [
    .target(name: "ReelSystemd", dependencies: ["CSystemd",
        .product(name: "Logging", package: "swift-log")], path: "Sources/Systemd"),
    // Run by SystemdTests under systemd-socket-activate, setpriv and a private mount namespace.
    .executableTarget(name: "reel-systemd-probe", dependencies: ["ReelSystemd",
        .product(name: "Logging", package: "swift-log")], path: "Tests/SystemdProbe"),
    .testTarget(name: "SystemdTests", dependencies: ["ReelSystemd", "ReelProtocol", "ReelTestSupport"], path: "Tests/SystemdTests"),
]

// MARK: - Engine (issue: engine) — the engine itself lives in Sources/Engine, its own package

let engineTargets: [Target] = [
    .testTarget(name: "EngineTests", dependencies: [engine], path: "Tests/EngineTests",
                resources: [.copy("Fixtures")]),
]

// MARK: - Media I/O on FFmpeg (issue: media)

let mediaTargets: [Target] = [
    .target(name: "ReelMedia", dependencies: ["CFFmpeg"], path: "Sources/Media"),
    .testTarget(name: "MediaTests", dependencies: ["ReelMedia"], path: "Tests/MediaTests"),
]

// MARK: - Models on the engine (issue: upsample for SRVGG/RRDB/RIFE; text-to-video adds Wan here)

let modelTargets: [Target] = [
    .target(name: "ReelModels", dependencies: [engine, "CJansson"], path: "Sources/Models"),
    // Parity against committed fixtures (tools/parity/upsample_fixtures.py) with
    // the imported weights (`make models`).
    .testTarget(name: "UpsampleTests", dependencies: ["ReelModels", engine], path: "Tests/UpsampleTests",
                resources: [.copy("Fixtures")]),
]

// MARK: - Text encoders (issue: text-to-video) — BERT/MiniLM, UMT5 and their tokenizers are in
// ReelModels (Sources/Models/Text); parity against tools/parity/text_fixtures.py.

let textEncoderTargets: [Target] = [
    .testTarget(name: "TextEncoderTests", dependencies: ["ReelModels", engine], path: "Tests/TextEncoderTests",
                resources: [.copy("Fixtures")]),
]

// MARK: - Text-to-video (issue: text-to-video) — Wan models live in ReelModels (Sources/Models/Wan, Sampling)

let textToVideoProducts: [Product] = [
    .library(name: "ReelTextToVideo", type: .dynamic, targets: ["ReelTextToVideo"]),
]

let textToVideoTargets: [Target] = [
    .target(name: "ReelTextToVideo", dependencies: ["ReelPluginKit", "ReelModels", "ReelMedia", engine],
            path: "Sources/Plugins/TextToVideo"),
    // Parity against committed fixtures from tools/parity/wan_fixtures.py (diffusers, torch CPU).
    // Plus video.generate end to end through the real reeld (ReelTestSupport) on a tiny model in diffusers' layout.
    .testTarget(name: "WanTests", dependencies: ["ReelModels", "ReelProtocol", "ReelMedia", "ReelTestSupport", engine],
                path: "Tests/WanTests",
                resources: [.copy("Fixtures")]),
]

// MARK: - Upsample plugin (issue: upsample) — the video.upsample stage

let upsampleProducts: [Product] = [
    .library(name: "ReelUpsample", type: .dynamic, targets: ["ReelUpsample"]),
]

let upsampleTargets: [Target] = [
    .target(name: "ReelUpsample", dependencies: ["ReelPluginKit", "ReelProtocol", "ReelModels", "ReelMedia", engine],
            path: "Sources/Plugins/Upsample"),
    // End to end through the real reeld on a temporary socket, with the imported models.
    .testTarget(name: "UpsamplePluginTests", dependencies: ["ReelProtocol", "ReelTestSupport", "ReelMedia", "ReelModels", engine],
                path: "Tests/UpsamplePluginTests", exclude: ["Fixtures"]),
]

// MARK: - Benchmarks

let benchProducts: [Product] = [
    .executable(name: "reel-bench", targets: ["reel-bench"]),
]

let benchTargets: [Target] = [
    .executableTarget(name: "reel-bench", dependencies: [
        "ReelProtocol", "ReelMedia", "ReelModels", engine,
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ], path: "Sources/Bench"),
]

let package = Package(
    name: "reel",
    products: daemonProducts + upsampleProducts + textToVideoProducts + benchProducts,
    dependencies: [
        .package(path: "Sources/Engine"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    ],
    targets: systemTargets + daemonTargets + systemdTargets + engineTargets + mediaTargets + modelTargets
        + textEncoderTargets + textToVideoTargets + upsampleTargets + benchTargets,
    swiftLanguageModes: languageModes
)
