import Foundation
import XCTest
@testable import ReelMedia

/// Shared by the media tests: a temporary directory per test, the ffmpeg and ffprobe CLIs, and
/// synthetic frames and audio. Every file a test reads is made here at run time.
class MediaTestCase: XCTestCase {
    var directory: String = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "reel-media-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        // REEL_MEDIA_KEEP=1 keeps each test's files for inspection.
        if ProcessInfo.processInfo.environment["REEL_MEDIA_KEEP"] != nil {
            print("kept \(directory)")
            return
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func file(_ name: String) -> String { "\(directory)/\(name)" }

    /// Runs a tool, returns stdout; fails the test on a non-zero exit.
    @discardableResult
    func run(_ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            XCTFail("\(tool) \(arguments.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self).suffix(800))",
                    file: file, line: line)
            throw CocoaError(.executableLoad)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Makes a file with the ffmpeg CLI: `ffmpeg -y <arguments> <output>`.
    @discardableResult
    func ffmpeg(_ arguments: [String], output name: String) throws -> String {
        let path = file(name)
        try run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y"] + arguments + [path])
        return path
    }

    /// ffprobe's view of a file as flat key=value pairs ("streams.stream.0.codec_name" -> "h264").
    func ffprobe(_ path: String, countFrames: Bool = false) throws -> [String: String] {
        var args = ["-v", "error", "-show_format", "-show_streams", "-of", "flat"]
        if countFrames { args.insert("-count_frames", at: 0) }
        let text = try run("ffprobe", args + [path])
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: eq)...])
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
                value = value.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\"", with: "\"")
                    .replacingOccurrences(of: "\\\\", with: "\\")
            }
            out[String(line[..<eq])] = value
        }
        return out
    }

    /// A frame whose colour changes with `index` and across the picture, so that a wrong frame,
    /// a shifted row or swapped channels all show.
    func patternFrame(width: Int, height: Int, index: Int) -> VideoFrame {
        var pixels = [Float](repeating: 0, count: 3 * width * height)
        let plane = width * height
        for y in 0 ..< height {
            for x in 0 ..< width {
                let i = y * width + x
                pixels[i] = Float(x) / Float(max(width - 1, 1))                       // R: left to right
                pixels[plane + i] = Float(y) / Float(max(height - 1, 1))              // G: top to bottom
                pixels[2 * plane + i] = Float((index * 37) % 256) / 255               // B: frame number
            }
        }
        return VideoFrame(width: width, height: height, pixels: pixels)
    }

    /// A sine tone, interleaved, same in every channel.
    func tone(seconds: Double, rate: Int, channels: Int, frequency: Double = 440, amplitude: Float = 0.5) -> PCMAudio {
        let n = Int(seconds * Double(rate))
        var samples = [Float](repeating: 0, count: n * channels)
        for i in 0 ..< n {
            let v = amplitude * Float(sin(2 * Double.pi * frequency * Double(i) / Double(rate)))
            for c in 0 ..< channels { samples[i * channels + c] = v }
        }
        return PCMAudio(samples: samples, sampleRate: rate, channels: channels)
    }

    func label(prompt: String = "a red fox runs through snow, golden hour") -> GenerationLabel {
        GenerationLabel(model: "wan2.1-t2v-tiny", plugin: "text-to-video", pluginVersion: "0.1.0",
                        prompt: prompt, seed: 1234567890123, generator: "reel 0.1.0")
    }

    /// Asserts that `body` throws a MediaError with the given reason that names `path`.
    func assertMediaError<T>(_ reason: MediaError.Reason, path: String, _ body: () throws -> T,
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected a \(reason) error for \(path)", file: file, line: line)
        } catch let error as MediaError {
            if ProcessInfo.processInfo.environment["REEL_MEDIA_PRINT_ERRORS"] != nil { print("MediaError: \(error)") }
            XCTAssertEqual(error.reason, reason, "\(error)", file: file, line: line)
            XCTAssertEqual(error.path, path, file: file, line: line)
            XCTAssertTrue(error.description.contains(path), file: file, line: line)
        } catch {
            XCTFail("expected MediaError, got \(error)", file: file, line: line)
        }
    }
}
