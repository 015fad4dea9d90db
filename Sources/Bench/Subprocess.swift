// The tools and reference scripts a benchmark runs beside reel: the ffmpeg CLI, and the Python references
// (torch, diffusers, ncnn) that print their figures as one JSON line last.
import ArgumentParser
import Foundation
import ReelProtocol

/// Runs `tool` (looked up on PATH) with `arguments`; throws unless it exits 0.
func runTool(_ tool: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(tool) exited with \(process.terminationStatus)")
    }
}

/// Runs a reference script (`python script arguments…`) on `threads` threads (OMP_NUM_THREADS too, for the
/// libraries that read only that) and parses the last line it prints; nil when it cannot run, fails, or
/// prints no JSON. Its stderr is shown unless `quiet`.
func referenceJSON(python: String, script: String, _ arguments: [String], threads: Int, quiet: Bool = false) -> JSON? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [python, script] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["OMP_NUM_THREADS"] = "\(threads)"
    process.environment = environment
    let out = Pipe()
    process.standardOutput = out
    if quiet { process.standardError = FileHandle.nullDevice }
    do { try process.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last else { return nil }
    return try? JSON.parse(String(line))
}
