// reel-bench text: the text encoders beside transformers (tools/bench/text_reference.py) on the same prompts
// (the Movie Gen Video Bench set in ../shared/data), the same batching and threads, in the same run:
// all-MiniLM-L6-v2 as the default model uses it, and a random UMT5 encoder written for both sides in Wan2.1's
// layout (the real umt5-xxl cannot be fetched here), encoded as WanPipeline does.
import ArgumentParser
import Foundation
import Glibc
import ReelEngine
import ReelModels
import ReelProtocol

struct TextBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Text encoders (MiniLM, UMT5) and their tokenizers beside transformers on the same prompts.")

    @Option(help: "Threads for both sides.") var threads = 2
    @Option(help: "Comma-separated cases: minilm, umt5; empty = all.") var cases = ""
    @Option(help: "Prompts encoded per run (the corpus, repeated if needed).") var prompts = 64
    @Option(help: "Prompts per forward pass (both sides).") var batch = 16
    @Option(help: "Timed runs after one warm-up (the median counts).") var runs = 3
    @Option(help: "UMT5 layers and width of the random encoder.") var umt5Layers = 8
    @Option var umt5Width = 512
    @Option(help: "The prompt corpus.") var corpus = "../shared/data/moviegenbench-prompts-dev.txt"
    @Option(help: "Python with torch and transformers for the reference; n/a when it cannot run.") var python = "python3"
    @Option(help: "The reference script.") var referenceScript = "tools/bench/text_reference.py"
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        Engine.setThreads(threads)
        let wanted = Set(cases.split(separator: ",").map(String.init))
        func want(_ c: String) -> Bool { wanted.isEmpty || wanted.contains(c) }
        guard let text = try? String(contentsOfFile: corpus, encoding: .utf8) else {
            throw ValidationError("\(corpus): the prompt corpus is missing (--corpus)")
        }
        let lines = text.split(separator: "\n").map(String.init)
        let texts = (0..<prompts).map { lines[$0 % lines.count] }
        let load0 = benchLoadAverage()
        var rows: [JSON] = []

        if want("minilm") {
            let dir = ModelStore.default.root.appendingPathComponent("all-minilm-l6-v2").path
            say("reel  minilm…")
            let enc = try BertTextEncoder(directory: dir, maxSequenceLength: 48, name: "all-MiniLM-L6-v2")
            enc.batchSize = batch
            let tok = try benchRuns(runs) { for t in texts { _ = enc.tokenize(t) } }
            let ours = try benchRuns(runs) { _ = try enc.embed(texts) }
            say("torch minilm…")
            let ref = reference(["minilm", "--model-dir", dir])
            rows.append(row("minilm", "\(prompts) prompts, batch \(batch), 48 tokens", ours, tok, ref))
        }
        if want("umt5") {
            var t = Array("/tmp/reel-bench-text-XXXXXX".utf8CString)
            guard let p = mkdtemp(&t) else { throw ValidationError("mkdtemp failed") }
            let dir = String(cString: p)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            say("writing a random UMT5 (\(umt5Layers) layers, \(umt5Width) wide)…")
            guard reference(["make-umt5", "--model-dir", dir, "--layers", "\(umt5Layers)", "--width", "\(umt5Width)"]) != nil else {
                throw ValidationError("\(python) \(referenceScript) make-umt5 failed (needs torch and transformers)")
            }
            say("reel  umt5…")
            let enc = try loadTextEncoder(modelDirectory: dir) as! UMT5TextEncoder
            enc.batchSize = batch
            let tok = try benchRuns(runs) { for t in texts { _ = enc.tokenize(t) } }
            let ours = try benchRuns(runs) { _ = try enc.embed(texts) }
            say("torch umt5…")
            let ref = reference(["umt5", "--model-dir", dir])
            rows.append(row("umt5", "\(prompts) prompts, batch \(batch), \(umt5Layers)x\(umt5Width), 512 tokens", ours, tok, ref))
        }
        let load1 = benchLoadAverage()
        if json {
            print(JSON.object(["threads": .int(Int64(threads)), "load_before": .string(load0), "load_after": .string(load1),
                               "cases": .array(rows)]).serialized())
            return
        }
        print("reel-bench text: \(threads) threads, fp32; load average \(load0) before, \(load1) after")
        let header = ["case", "shape", "reel s", "ref s", "speed-up", "reel tokenize s", "ref tokenize s"]
        let cells = rows.map { r -> [String] in
            let ours = r["reel_seconds"]?.doubleValue ?? 0, theirs = r["reference_seconds"]?.doubleValue
            return [r["case"]?.stringValue ?? "", r["shape"]?.stringValue ?? "", String(format: "%.3f", ours),
                    theirs.map { String(format: "%.3f", $0) } ?? "n/a", theirs.map { String(format: "%.2fx", $0 / ours) } ?? "n/a",
                    String(format: "%.4f", r["reel_tokenize_seconds"]?.doubleValue ?? 0),
                    r["reference_tokenize_seconds"]?.doubleValue.map { String(format: "%.4f", $0) } ?? "n/a"]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max()! }
        func line(_ c: [String]) -> String {
            c.enumerated().map { i, s in s.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        print(line(header))
        for c in cells { print(line(c)) }
    }

    private func say(_ s: String) { if !json { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) } }

    private func row(_ name: String, _ shape: String, _ ours: [Double], _ tok: [Double], _ ref: JSON?) -> JSON {
        var o: JSONObject = ["case": .string(name), "shape": .string(shape), "reel_seconds": .double(benchMedian(ours)),
                             "reel_runs": .array(ours.map { .double($0) }), "reel_tokenize_seconds": .double(benchMedian(tok))]
        if let ref {
            o["reference"] = ref["reference"] ?? .null
            o["reference_seconds"] = ref["seconds"] ?? .null
            o["reference_runs"] = ref["runs"] ?? .null
            o["reference_tokenize_seconds"] = ref["tokenize_seconds"] ?? .null
        }
        return .object(o)
    }

    private func reference(_ args: [String]) -> JSON? {
        referenceJSON(python: python, script: referenceScript, args + ["--prompts", "\(prompts)", "--batch", "\(batch)",
                                                                      "--threads", "\(threads)", "--runs", "\(runs)"],
                      threads: threads)
    }
}
