import ArgumentParser

/// The benchmark areas. Add one line per area; keep each area in its own file.
let benchSubcommands: [ParsableCommand.Type] = [
    MediaBench.self,
    RPCBench.self,
    EngineBench.self,
    T2VBench.self,
    UpsampleBench.self,
    TextBench.self,
]
