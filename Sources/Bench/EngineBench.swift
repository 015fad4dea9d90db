// reel-bench engine: the engine's kernels and one Wan-1.3B-sized DiT block, each
// beside PyTorch (tools/bench/torch_engine.py) on the same shapes and the same
// number of threads, measured in the same run. fp32 on both sides.
import ArgumentParser
import Foundation
import Glibc
import ReelEngine

struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "GEMM, attention (1k/4k/16k tokens), conv2d, conv3d and a Wan-1.3B block, beside PyTorch.")

    @Option(help: "Threads for both sides (default: the cores this process may use).") var threads: Int?
    @Option(help: "Comma-separated cases (gemm, gemm_bf16, attn1k, attn4k, attn16k, conv2d, conv2d_nhwc, conv2d_bf16, conv3d, wan_block, wan_block_bf16); empty = all.")
    var cases = ""
    @Flag(help: "Skip the 16k-token attention case.") var quick = false
    @Option(help: "Seconds to keep repeating each case (the median run counts).") var minTime = 1.0
    @Option(help: "Most runs per case.") var maxRuns = 10
    @Option(help: "Python with torch for the reference; skipped (n/a) when torch cannot be imported.") var python = "python3"
    @Option(help: "The reference script.") var torchScript = "tools/bench/torch_engine.py"
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func run() throws {
        signal(SIGPIPE, SIG_IGN) // a reference that dies must not take the benchmark with it
        let n = threads ?? Engine.cores
        Engine.setThreads(n)
        let load0 = engineBenchLoad()
        let all = engineBenchCases(quick: quick)
        let wanted = Set(cases.split(separator: ",").map(String.init))
        let chosen = all.filter { wanted.isEmpty || wanted.contains($0.name) }

        // Alternate case by case (reel, then PyTorch) so both see the same load.
        let torch = EngineBenchTorch(python: python, script: torchScript, threads: n, minTime: minTime, maxRuns: maxRuns,
                                     quiet: json, quick: quick)
        var ours: [String: Double] = [:], oursCPU: [String: Double] = [:]
        var theirs: [String: Double] = [:], theirsCPU: [String: Double] = [:]
        for c in chosen {
            if !json { FileHandle.standardError.write("\(c.name)…\n".data(using: .utf8)!) }
            (ours[c.name], oursCPU[c.name]) = try engineBenchTime(minTime: minTime, maxRuns: maxRuns, c.run)
            if let r = torch?.measure(c.name) { (theirs[c.name], theirsCPU[c.name]) = r }
        }
        let torchVersion = torch?.version
        torch?.finish()
        let load1 = engineBenchLoad()

        let gemmRate = ours["gemm"].map { all[0].flops / $0 / 1e9 }
        if json {
            var items: [String] = []
            for c in chosen {
                let t = ours[c.name]!
                var fields = ["\"case\": \"\(c.name)\"", "\"shape\": \"\(c.shape)\"", "\"gflop\": \(c.flops / 1e9)",
                              "\"reel_seconds\": \(t)", "\"reel_cpu_seconds\": \(oursCPU[c.name]!)", "\"reel_gflops\": \(c.flops / t / 1e9)"]
                if let r = theirs[c.name] {
                    fields += ["\"torch_seconds\": \(r)", "\"torch_cpu_seconds\": \(theirsCPU[c.name] ?? 0)",
                               "\"torch_gflops\": \(c.flops / r / 1e9)", "\"speedup\": \(r / t)",
                               "\"cpu_speedup\": \((theirsCPU[c.name] ?? 0) / oursCPU[c.name]!)"]
                } else {
                    fields += ["\"torch_seconds\": null", "\"torch_cpu_seconds\": null", "\"torch_gflops\": null", "\"speedup\": null", "\"cpu_speedup\": null"]
                }
                items.append("{" + fields.joined(separator: ", ") + "}")
            }
            let torchField = torchVersion.map { "\"\($0)\"" } ?? "null"
            print("{\"threads\": \(n), \"torch\": \(torchField), \"load_before\": \(load0), \"load_after\": \(load1), " +
                  "\"avx512\": \(Engine.hasAVX512), \"blas_core\": \"\(Engine.blasCore)\", \"blas_core_forced\": \(Engine.blasCoreForced != nil), \"cases\": [\(items.joined(separator: ", "))]}")
            return
        }
        print("reel-bench engine: \(n) threads, fp32; OpenBLAS kernels \(Engine.blasCore)\(Engine.blasCoreForced.map { " (OPENBLAS_CORETYPE=\($0))" } ?? " (OpenBLAS's choice)"); " +
              "torch \(torchVersion ?? "n/a"); load average \(load0) before, \(load1) after")
        if let warning = Engine.blasCoreWarning { print("note: \(warning)") }
        let header = ["case", "shape", "GFLOP", "reel ms", "cpu ms", "reel GFLOP/s", "torch ms", "cpu ms", "torch GFLOP/s", "speed-up", "by cpu"]
        var rows: [[String]] = []
        for c in chosen {
            let t = ours[c.name]!
            let r = theirs[c.name]
            rows.append([c.name, c.shape, String(format: "%.1f", c.flops / 1e9), String(format: "%.1f", t * 1e3),
                         String(format: "%.0f", oursCPU[c.name]! * 1e3), String(format: "%.1f", c.flops / t / 1e9),
                         r.map { String(format: "%.1f", $0 * 1e3) } ?? "n/a",
                         theirsCPU[c.name].map { String(format: "%.0f", $0 * 1e3) } ?? "n/a",
                         r.map { String(format: "%.1f", c.flops / $0 / 1e9) } ?? "n/a",
                         r.map { String(format: "%.2fx", $0 / t) } ?? "n/a",
                         theirsCPU[c.name].map { String(format: "%.2fx", $0 / oursCPU[c.name]!) } ?? "n/a"])
        }
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, s in i < 2 ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                                                   : String(repeating: " ", count: widths[i] - s.count) + s }.joined(separator: "  ")
        }
        print(line(header))
        // speed-up: torch wall / reel wall; by cpu: torch CPU time / reel CPU time (steadier on a shared machine)
        for r in rows { print(line(r)) }
        if let g = gemmRate, let a = ours["attn4k"], let c = chosen.first(where: { $0.name == "attn4k" }) {
            print(String(format: "attention at 4k tokens runs at %.0f%% of the engine's sgemm rate", 100 * c.flops / a / 1e9 / g))
        }
    }
}

struct EngineBenchCase {
    let name: String
    let shape: String
    let flops: Double
    let run: () throws -> Void
}

private func engineBenchCases(quick: Bool) -> [EngineBenchCase] {
    var out: [EngineBenchCase] = []
    let a = randn([2048, 2048], seed: 1), b = randn([2048, 2048], seed: 2)
    out.append(EngineBenchCase(name: "gemm", shape: "2048x2048 @ 2048x2048", flops: 2 * pow(2048, 3)) { _ = try matmul(a, b) })
    if let packed = try? PackedLinear(b, precision: .bf16), packed.precision == .bf16 {
        out.append(EngineBenchCase(name: "gemm_bf16", shape: "2048x2048 @ 2048x2048, bf16 in, fp32 acc", flops: 2 * pow(2048, 3)) {
            _ = try linear(a, weight: packed)
        })
    }
    for (name, tokens, heads) in [("attn1k", 1024, 12), ("attn4k", 4096, 12), ("attn16k", 16384, 2)] where !(quick && tokens > 4096) {
        let q = randn([1, heads, tokens, 128], seed: 3), k = randn([1, heads, tokens, 128], seed: 4), v = randn([1, heads, tokens, 128], seed: 5)
        out.append(EngineBenchCase(name: name, shape: "\(heads) heads x \(tokens) tokens x 128",
                                   flops: 4 * Double(heads) * Double(tokens) * Double(tokens) * 128) {
            _ = try scaledDotProductAttention(q, k, v)
        })
    }
    let x = randn([1, 64, 270, 480], seed: 6), w = randn([64, 64, 3, 3], seed: 7) * 0.05, bias = randn([64], seed: 8)
    out.append(EngineBenchCase(name: "conv2d", shape: "3x3 64->64 on 480x270", flops: 2 * 64 * 64 * 9 * 480 * 270) {
        _ = try conv2d(x, weight: w, bias: bias, padding: 1)
    })
    if let fast = try? WinogradConvolution3x3(weight: w), let xh = try? nchwToNHWC(x) {
        // the layout SRVGG keeps between layers: no transposes around the kernel
        out.append(EngineBenchCase(name: "conv2d_nhwc", shape: "the same, NHWC in and out (torch: channels_last)",
                                   flops: 2 * 64 * 64 * 9 * 480 * 270) {
            _ = try conv3x3NHWC(xh, weight: fast, bias: bias)
        })
    }
    if let packed = try? PackedConvolution(w, precision: .bf16), packed.precision == .bf16 {
        out.append(EngineBenchCase(name: "conv2d_bf16", shape: "the same, bf16 in, fp32 acc", flops: 2 * 64 * 64 * 9 * 480 * 270) {
            _ = try conv2d(x, weight: packed, bias: bias, padding: 1)
        })
    }
    let x3 = randn([1, 64, 5, 68, 120], seed: 9), w3 = randn([64, 64, 3, 3, 3], seed: 10) * 0.02, b3 = randn([64], seed: 11)
    out.append(EngineBenchCase(name: "conv3d", shape: "causal 3x3x3 64->64, 5x68x120", flops: 2 * 64 * 64 * 27 * 5 * 68 * 120) {
        _ = try conv3d(x3, weight: w3, bias: b3, padding: [1, 1, 1], causal: true)
    })
    let block = EngineBenchWanBlock(precision: .float32)
    out.append(EngineBenchCase(name: "wan_block", shape: "dim 1536, 12x128, FFN 8960, 1280+512 tokens", flops: block.flops) {
        _ = try block.forward()
    })
    if Engine.hasAVX512BF16 {
        let fast = EngineBenchWanBlock(precision: .bf16)
        out.append(EngineBenchCase(name: "wan_block_bf16", shape: "the same, bf16 linears (torch: bf16 block)", flops: fast.flops) {
            _ = try fast.forward()
        })
    }
    return out
}

/// One Wan2.1-1.3B transformer block (diffusers' WanTransformerBlock) with random
/// weights, written with the engine's ops the way the model code will be.
private struct EngineBenchWanBlock {
    let dim = 1536, heads = 12, ffn = 8960, tokens = 1280, textTokens = 512
    let weights: [String: Tensor]
    let linears: [String: PackedLinear]
    let hidden: Tensor, context: Tensor, temb: Tensor
    let rope: (cos: Tensor, sin: Tensor)

    init(precision: MatmulPrecision) {
        var seed: UInt64 = 100
        func w(_ shape: [Int]) -> Tensor { seed += 1; return randn(shape, seed: seed) * (1 / Float(shape.last!).squareRoot()) }
        var weights: [String: Tensor] = [:], linears: [String: PackedLinear] = [:]
        func lin(_ name: String, _ shape: [Int]) { linears[name] = try! PackedLinear(w(shape), precision: precision) }
        for p in ["attn1", "attn2"] {
            for m in ["to_q", "to_k", "to_v", "to_out.0"] {
                lin("\(p).\(m).weight", [dim, dim])
                weights["\(p).\(m).bias"] = w([dim])
            }
            weights["\(p).norm_q.weight"] = Tensor(repeating: 1, shape: [dim])
            weights["\(p).norm_k.weight"] = Tensor(repeating: 1, shape: [dim])
        }
        weights["norm2.weight"] = Tensor(repeating: 1, shape: [dim])
        weights["norm2.bias"] = Tensor(zeros: [dim])
        lin("ffn.net.0.proj.weight", [ffn, dim])
        weights["ffn.net.0.proj.bias"] = w([ffn])
        lin("ffn.net.2.weight", [dim, ffn])
        weights["ffn.net.2.bias"] = w([dim])
        weights["scale_shift_table"] = w([1, 6, dim])
        self.weights = weights
        self.linears = linears
        hidden = randn([1, tokens, dim], seed: 1)
        context = randn([1, textTokens, dim], seed: 2)
        temb = randn([1, 6, dim], seed: 3) * 0.1
        rope = wanRotaryTables(headDim: dim / heads, frames: 5, height: 16, width: 16)
    }

    var flops: Double {
        let (d, l, c, f, h) = (Double(dim), Double(tokens), Double(textTokens), Double(ffn), Double(heads))
        let selfAttn = 4 * 2 * l * d * d + 4 * h * l * l * (d / h)
        let crossAttn = 2 * 2 * l * d * d + 2 * 2 * c * d * d + 4 * h * l * c * (d / h)
        return selfAttn + crossAttn + 2 * 2 * l * d * f
    }

    func attention(_ x: Tensor, _ ctx: Tensor?, _ p: String, rope: (cos: Tensor, sin: Tensor)?) throws -> Tensor {
        let c = ctx ?? x
        var q = try linear(x, weight: linears[p + ".to_q.weight"]!, bias: weights[p + ".to_q.bias"]!)
        var k = try linear(c, weight: linears[p + ".to_k.weight"]!, bias: weights[p + ".to_k.bias"]!)
        let v = try linear(c, weight: linears[p + ".to_v.weight"]!, bias: weights[p + ".to_v.bias"]!)
        q = try rmsNorm(q, weight: weights[p + ".norm_q.weight"]!, eps: 1e-6).unflatten(2, [heads, -1])
        k = try rmsNorm(k, weight: weights[p + ".norm_k.weight"]!, eps: 1e-6).unflatten(2, [heads, -1])
        if let rope {
            q = try applyRotaryEmbedding(q, cos: rope.cos, sin: rope.sin)
            k = try applyRotaryEmbedding(k, cos: rope.cos, sin: rope.sin)
        }
        let o = try scaledDotProductAttention(q.transposed(1, 2), k.transposed(1, 2), v.unflatten(2, [heads, -1]).transposed(1, 2))
        return try linear(o.transposed(1, 2).flatten(2), weight: linears[p + ".to_out.0.weight"]!, bias: weights[p + ".to_out.0.bias"]!)
    }

    func forward() throws -> Tensor {
        var x = hidden
        let mod = try (weights["scale_shift_table"]! + temb).chunk(6, dim: 1)
        let n1 = try layerNormModulated(x, scale: mod[1], shift: mod[0], eps: 1e-6)
        x = try x + attention(n1, nil, "attn1", rope: rope) * mod[2]
        let n2 = try layerNorm(x, weight: weights["norm2.weight"]!, bias: weights["norm2.bias"]!, eps: 1e-6)
        x = try x + attention(n2, context, "attn2", rope: nil)
        let n3 = try layerNormModulated(x, scale: mod[4], shift: mod[3], eps: 1e-6)
        let h = try linear(n3, weight: linears["ffn.net.0.proj.weight"]!, bias: weights["ffn.net.0.proj.bias"]!, activation: .geluTanh)
        return try x + linear(h, weight: linears["ffn.net.2.weight"]!, bias: weights["ffn.net.2.bias"]!) * mod[5]
    }
}



/// The median run after one warm-up: (wall, cpu) seconds, cpu summed over threads.
private func engineBenchTime(minTime: Double, maxRuns: Int, _ body: () throws -> Void) throws -> (Double, Double) {
    try body()
    var runs: [(Double, Double)] = []
    let start = BenchClock.wall()
    while runs.count < maxRuns && (runs.count < 3 || BenchClock.wall() - start < minTime) {
        let t0 = BenchClock.wall(), c0 = BenchClock.cpu()
        try body()
        runs.append((BenchClock.wall() - t0, BenchClock.cpu() - c0))
    }
    return runs.sorted { $0.0 < $1.0 }[runs.count / 2]
}

private func engineBenchLoad() -> String {
    var l = [Double](repeating: 0, count: 3)
    return getloadavg(&l, 3) == 3 ? String(format: "%.2f", l[0]) : "n/a"
}

/// The PyTorch reference as a child process (tools/bench/torch_engine.py --serve):
/// one case name in, one "<case> <wall> <cpu>" line out. nil when python, torch
/// or the script is missing: the table then says n/a.
private final class EngineBenchTorch {
    let process = Process()
    let input = Pipe(), output = Pipe()
    var buffer = Data()
    var version: String? = nil

    init?(python: String, script: String, threads: Int, minTime: Double, maxRuns: Int, quiet: Bool, quick: Bool) {
        guard FileManager.default.fileExists(atPath: script) else {
            if !quiet { FileHandle.standardError.write("torch reference: \(script) not found (run from the repository root); n/a\n".data(using: .utf8)!) }
            return nil
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, "--serve", "--threads", "\(threads)", "--min-time", "\(minTime)",
                             "--max-runs", "\(maxRuns)"] + (quick ? ["--quick"] : [])
        process.standardInput = input
        process.standardOutput = output
        process.standardError = quiet ? FileHandle.nullDevice : FileHandle.standardError
        do { try process.run() } catch { return nil }
        guard let first = readLine(), first.hasPrefix("torch ") else {
            if !quiet { FileHandle.standardError.write("torch reference: torch could not be imported; n/a\n".data(using: .utf8)!) }
            finish()
            return nil
        }
        version = first.split(separator: " ").dropFirst().first.map(String.init)
    }

    func readLine() -> String? {
        while true {
            if let i = buffer.firstIndex(of: 0x0a) {
                let line = String(decoding: buffer[buffer.startIndex..<i], as: UTF8.self)
                buffer = Data(buffer[(i + 1)...])
                return line
            }
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { return nil }
            buffer.append(more)
        }
    }

    /// (wall, cpu) seconds for one case, or nil.
    func measure(_ name: String) -> (Double, Double)? {
        guard (try? input.fileHandleForWriting.write(contentsOf: (name + "\n").data(using: .utf8)!)) != nil,
              let line = readLine() else { return nil }
        let f = line.split(separator: " ")
        guard f.count == 3, f[0] == name, let wall = Double(f[1]), let cpu = Double(f[2]) else { return nil }
        return (wall, cpu)
    }

    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
