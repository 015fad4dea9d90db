import Foundation
import ReelEngine

/// transformers' UMT5Config (config.json of Wan2.1's text_encoder), the encoder's fields.
public struct UMT5Config: Codable, Sendable {
    public var vocabSize: Int
    public var dModel: Int
    public var dKv: Int
    public var dFf: Int
    public var numLayers: Int
    public var numHeads: Int
    public var relativeAttentionNumBuckets: Int = 32
    public var relativeAttentionMaxDistance: Int = 128
    public var layerNormEpsilon: Float = 1e-6
    public var feedForwardProj: String = "gated-gelu"
    public var denseActFn: String?

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", dKv = "d_kv", dFf = "d_ff", numLayers = "num_layers"
        case numHeads = "num_heads", relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance", layerNormEpsilon = "layer_norm_epsilon"
        case feedForwardProj = "feed_forward_proj", denseActFn = "dense_act_fn"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        dModel = try c.decode(Int.self, forKey: .dModel)
        dKv = try c.decode(Int.self, forKey: .dKv)
        dFf = try c.decode(Int.self, forKey: .dFf)
        numLayers = try c.decode(Int.self, forKey: .numLayers)
        numHeads = try c.decode(Int.self, forKey: .numHeads)
        relativeAttentionNumBuckets = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionNumBuckets) ?? 32
        relativeAttentionMaxDistance = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionMaxDistance) ?? 128
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-6
        feedForwardProj = try c.decodeIfPresent(String.self, forKey: .feedForwardProj) ?? "gated-gelu"
        denseActFn = try c.decodeIfPresent(String.self, forKey: .denseActFn)
    }

    public static func load(path: String) throws -> UMT5Config {
        do { return try JSONTree.load(path: path).decode(UMT5Config.self) } catch {
            throw ModelError.badInput("\(path): not a UMT5/T5 config: \(error)")
        }
    }

    /// "gated-gelu" → (gated, gelu_new); "relu" → (not gated, relu); as T5Config parses it.
    var feedForward: (gated: Bool, activation: String) {
        let parts = feedForwardProj.split(separator: "-").map(String.init)
        let gated = parts.first == "gated"
        var act = parts.last ?? "relu"
        if act == "gelu" && gated { act = "gelu_new" }  // T5Config's special case
        return (gated, denseActFn ?? act)
    }

    /// Parameters of the encoder (embedding included), for memory estimates.
    public var parameterCount: Int {
        let inner = numHeads * dKv
        let attention = 4 * dModel * inner + relativeAttentionNumBuckets * numHeads
        let ff = (feedForward.gated ? 3 : 2) * dModel * dFf
        return vocabSize * dModel + numLayers * (attention + ff + 2 * dModel) + dModel
    }
}

/// T5's bidirectional relative-position bucket of `relative` (= key − query),
/// computed in fp32 as transformers does, so every bucket boundary agrees.
public func t5RelativePositionBucket(_ relative: Int, buckets: Int, maxDistance: Int) -> Int {
    let half = buckets / 2
    var bucket = relative > 0 ? half : 0
    let n = Swift.abs(relative)
    let maxExact = half / 2
    if n < maxExact { return bucket + n }
    let ratio = Float(Foundation.log(Float(n) / Float(maxExact))) / Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
    let large = maxExact + Int(ratio * Float(half - maxExact))
    bucket += Swift.min(large, half - 1)
    return bucket
}

/// transformers' UMT5EncoderModel — Wan2.1's text encoder (umt5-xxl): token
/// embedding, then pre-norm blocks of self-attention (no logit scaling, a
/// relative-position bias of its own in every layer, key-padding mask) and a
/// gated-GELU (tanh) feed-forward, T5's RMS LayerNorm without bias or mean,
/// and a final norm. Properties are named after the checkpoint's keys.
///
/// `streaming`: keep only the embedding resident and read each block's weights
/// from the (memory-mapped) checkpoint when it runs, converting bf16 to fp32
/// block by block — the real 5.7B-parameter encoder then needs one block of
/// fp32 weights (~0.8 GB) instead of ~23 GB.
public final class UMT5EncoderModel: @unchecked Sendable {
    public let config: UMT5Config
    let shared: EmbeddingTable
    let final_layer_norm: Tensor
    let checkpoint: Checkpoint
    let blocks: [Block]?   // nil when streaming
    let activation: Activation
    public let streaming: Bool

    struct Block {
        // layer.0: SelfAttention {q, k, v, o, relative_attention_bias}, layer_norm
        let q: Tensor, k: Tensor, v: Tensor, o: Tensor
        let relative_attention_bias: Tensor   // [buckets, heads]
        let layer_norm0: Tensor
        // layer.1: DenseReluDense {wi_0, wi_1 | wi, wo}, layer_norm
        let wi_0: Tensor, wi_1: Tensor?, wo: Tensor
        let layer_norm1: Tensor
    }

    public init(config c: UMT5Config, checkpoint: Checkpoint, streaming: Bool = false) throws {
        config = c
        self.checkpoint = checkpoint
        self.streaming = streaming
        let ff = c.feedForward
        activation = try textActivation(ff.activation)
        shared = try EmbeddingTable(checkpoint: checkpoint, names: ["shared.weight", "encoder.embed_tokens.weight"],
                                    shape: [c.vocabSize, c.dModel])
        final_layer_norm = try checkpoint["encoder"]["final_layer_norm"].tensor("weight", shape: [c.dModel])
        if streaming {
            blocks = nil
            // Check every block's tensors now (names, shapes), without converting them.
            for i in 0..<c.numLayers { try Self.checkBlock(checkpoint, i, c) }
        } else {
            blocks = try (0..<c.numLayers).map { try Self.loadBlock(checkpoint, $0, c) }
            // The embedding is read row by row, outside Checkpoint's bookkeeping.
            try checkpoint.requireAllUsed(ignoring: ["decoder.", "lm_head.", "shared.weight", "encoder.embed_tokens.weight"])
        }
    }

    public convenience init(directory: String, streaming: Bool = false) throws {
        let config = try UMT5Config.load(path: directory + "/config.json")
        try self.init(config: config, checkpoint: Checkpoint(source: try Safetensors.open(directory), path: directory),
                      streaming: streaming)
    }

    static func names(_ i: Int, _ c: UMT5Config) -> [(String, [Int])] {
        let p = "encoder.block.\(i).layer", inner = c.numHeads * c.dKv
        var n: [(String, [Int])] = [
            ("\(p).0.SelfAttention.q.weight", [inner, c.dModel]), ("\(p).0.SelfAttention.k.weight", [inner, c.dModel]),
            ("\(p).0.SelfAttention.v.weight", [inner, c.dModel]), ("\(p).0.SelfAttention.o.weight", [c.dModel, inner]),
            ("\(p).0.SelfAttention.relative_attention_bias.weight", [c.relativeAttentionNumBuckets, c.numHeads]),
            ("\(p).0.layer_norm.weight", [c.dModel]),
            ("\(p).1.DenseReluDense.wo.weight", [c.dModel, c.dFf]), ("\(p).1.layer_norm.weight", [c.dModel]),
        ]
        if c.feedForward.gated {
            n += [("\(p).1.DenseReluDense.wi_0.weight", [c.dFf, c.dModel]), ("\(p).1.DenseReluDense.wi_1.weight", [c.dFf, c.dModel])]
        } else {
            n += [("\(p).1.DenseReluDense.wi.weight", [c.dFf, c.dModel])]
        }
        return n
    }

    static func checkBlock(_ ck: Checkpoint, _ i: Int, _ c: UMT5Config) throws {
        for (name, shape) in names(i, c) {
            let info = try ck.source.info(name)
            guard info.shape == shape else {
                throw ModelError.badInput("\(ck.path): \(name) has shape \(info.shape), expected \(shape)")
            }
        }
    }

    /// One block's weights. Streaming reads bypass `Checkpoint`'s bookkeeping
    /// (nothing shared is mutated, so concurrent encodes are safe).
    static func loadBlock(_ ck: Checkpoint, _ i: Int, _ c: UMT5Config, streaming: Bool = false) throws -> Block {
        let inner = c.numHeads * c.dKv
        let l0 = ck["encoder"]["block"][i]["layer"][0], l1 = ck["encoder"]["block"][i]["layer"][1]
        func read(_ path: ModulePath, _ shape: [Int]) throws -> Tensor {
            streaming ? try ck.source.tensor(path.prefix + ".weight", shape: shape) : try path.tensor("weight", shape: shape)
        }
        let a = l0["SelfAttention"], f = l1["DenseReluDense"]
        let gated = c.feedForward.gated
        return Block(
            q: try read(a["q"], [inner, c.dModel]),
            k: try read(a["k"], [inner, c.dModel]),
            v: try read(a["v"], [inner, c.dModel]),
            o: try read(a["o"], [c.dModel, inner]),
            relative_attention_bias: try read(a["relative_attention_bias"], [c.relativeAttentionNumBuckets, c.numHeads]),
            layer_norm0: try read(l0["layer_norm"], [c.dModel]),
            wi_0: try read(f[gated ? "wi_0" : "wi"], [c.dFf, c.dModel]),
            wi_1: gated ? try read(f["wi_1"], [c.dFf, c.dModel]) : nil,
            wo: try read(f["wo"], [c.dModel, c.dFf]),
            layer_norm1: try read(l1["layer_norm"], [c.dModel]))
    }

    /// The last hidden state [batch, length, d_model] of `ids` (rows of at most
    /// `length` ids; shorter rows are padding masked out of the keys). Rows past
    /// each sequence's end are zero, as Wan's pipeline leaves them.
    public func callAsFunction(_ ids: [[Int]], length: Int? = nil) throws -> Tensor {
        let c = config
        let lengths = ids.map(\.count)
        let l = length ?? (lengths.max() ?? 0)
        guard !ids.isEmpty, l > 0, lengths.allSatisfy({ $0 > 0 && $0 <= l }) else {
            throw ModelError.badInput("UMT5 needs 1...\(l) tokens per sequence")
        }
        let b = ids.count, heads = c.numHeads, dkv = c.dKv, eps = c.layerNormEpsilon
        var x = try shared.rows(ids, length: l)
        // Relative-position buckets of this length, shared by the layers (each has its own bias table).
        var buckets = [Int](repeating: 0, count: l * l)
        var bucketOf: [Int: Int] = [:]
        for i in 0..<l {
            for j in 0..<l {
                let r = j - i
                if let v = bucketOf[r] { buckets[i * l + j] = v; continue }
                let v = t5RelativePositionBucket(r, buckets: c.relativeAttentionNumBuckets, maxDistance: c.relativeAttentionMaxDistance)
                bucketOf[r] = v
                buckets[i * l + j] = v
            }
        }
        let padded = lengths.contains { $0 < l }
        for i in 0..<c.numLayers {
            let block = try blocks?[i] ?? Self.loadBlock(checkpoint, i, c, streaming: true)
            // Position bias [1 or B, H, L, L] plus -inf on padded keys.
            let table = block.relative_attention_bias.contiguous()
            let maskBatch = padded ? b : 1
            let bias = Tensor(uninitialized: [maskBatch, heads, l, l])
            for bi in 0..<maskBatch {
                for h in 0..<heads {
                    let base = bias.data + (bi * heads + h) * l * l
                    for q in 0..<l {
                        for k in 0..<l {
                            base[q * l + k] = padded && k >= lengths[bi] ? -.infinity : table.data[buckets[q * l + k] * heads + h]
                        }
                    }
                }
            }
            let n0 = try rmsNorm(x, weight: block.layer_norm0, eps: eps)
            func split(_ t: Tensor) throws -> Tensor { try t.unflatten(2, [heads, dkv]).transposed(1, 2) }
            let q = try split(linear(n0, weight: block.q)), k = try split(linear(n0, weight: block.k))
            let v = try split(linear(n0, weight: block.v))
            let attended = try scaledDotProductAttention(q, k, v, mask: .additive(bias), scale: 1).transposed(1, 2).flatten(2)
            x = try x + linear(attended, weight: block.o)
            let n1 = try rmsNorm(x, weight: block.layer_norm1, eps: eps)
            var hidden = try linear(n1, weight: block.wi_0, activation: activation)
            if let wi1 = block.wi_1 { hidden = try hidden * linear(n1, weight: wi1) }
            x = try x + linear(hidden, weight: block.wo)
        }
        x = try rmsNorm(x, weight: final_layer_norm, eps: eps)
        zeroPadding(x, lengths: lengths)
        return x
    }
}

/// An embedding table read row by row from the checkpoint's own storage, so a
/// bf16 table (umt5-xxl: 256384 × 4096) is never converted whole to fp32.
struct EmbeddingTable: @unchecked Sendable {
    let shape: [Int]
    private let dense: Tensor?
    private let file: SafetensorsFile?
    private let name: String

    init(checkpoint: Checkpoint, names: [String], shape: [Int]) throws {
        self.shape = shape
        let present = names.filter { checkpoint.source.contains($0) }
        guard let first = present.first else {
            throw ModelError.badInput("\(checkpoint.path): no embedding table (\(names.joined(separator: " or ")))")
        }
        name = first
        // Tied copies hold the same table; check their shapes only.
        for n in present { _ = try checkpoint.info(n, shape: shape) }
        let info = try checkpoint.source.info(first)
        var f: SafetensorsFile? = checkpoint.source as? SafetensorsFile
        if f == nil, let sharded = checkpoint.source as? ShardedSafetensors {
            f = sharded.shards.values.first { $0.entries[first] != nil }
        }
        if info.dtype == .float32 || f == nil {
            dense = try checkpoint.source.tensor(first, shape: shape).contiguous()
            file = nil
        } else {
            dense = nil
            file = f
        }
    }

    func rows(_ ids: [[Int]], length: Int) throws -> Tensor {
        if let dense { return try embeddingRows(dense, ids, length: length) }
        let (vocab, dim) = (shape[0], shape[1])
        let out = Tensor(zeros: [ids.count, length, dim])
        for (b, row) in ids.enumerated() {
            for (t, id) in row.prefix(length).enumerated() {
                guard id >= 0 && id < vocab else { throw ModelError.badInput("token id \(id) outside the vocabulary of \(vocab)") }
                let one = try file!.row(name, index: id)
                (out.data + (b * length + t) * dim).update(from: one.data, count: dim)
            }
        }
        return out
    }
}

extension Checkpoint {
    /// Checks `name`'s shape without reading it.
    func info(_ name: String, shape: [Int]) throws -> TensorInfo {
        let info = try source.info(name)
        guard info.shape == shape else { throw ModelError.badInput("\(path): \(name) has shape \(info.shape), expected \(shape)") }
        return info
    }
}

/// IEEE half to float (subnormals, infinities and NaN included).
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        let v = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
}

extension SafetensorsFile {
    /// Row `index` of a 2-d tensor, converted to fp32.
    func row(_ name: String, index: Int) throws -> Tensor {
        let info = try self.info(name)
        let dim = info.shape[1]
        let bytes = try self.bytes(name)
        let size = info.dtype.byteSize
        let out = Tensor(uninitialized: [dim])
        let src = bytes.baseAddress! + index * dim * size
        switch info.dtype {
        case .float32: UnsafeMutableRawPointer(out.data).copyMemory(from: src, byteCount: dim * 4)
        case .bfloat16:
            for i in 0..<dim { out.data[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .float16:
            for i in 0..<dim { out.data[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        default:
            throw ModelError.unsupported("\(path): \(name) has dtype \(info.dtype.rawValue)")
        }
        return out
    }
}
