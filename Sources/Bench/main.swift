// reel-bench: one subcommand per area. Each area's benchmark lives in its own
// file (RPCBench.swift, EngineBench.swift, MediaBench.swift, ...) and is listed
// here. Every subcommand prints a table, or one JSON object with --json, and
// measures its reference (PyTorch, ncnn, the ffmpeg CLI) in the same run.
import ArgumentParser

struct ReelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reel-bench",
        abstract: "Measure reel's speed beside its references, on this machine, in one run.",
        subcommands: benchSubcommands
    )
}

ReelBench.main()
