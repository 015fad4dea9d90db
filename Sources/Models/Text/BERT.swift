import ReelEngine

/// transformers' BertConfig (config.json), the fields the encoder uses.
public struct BertConfig: Codable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: String = "gelu"
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int = 2
    public var layerNormEps: Float = 1e-12
    public var positionEmbeddingType: String? = "absolute"

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size", layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        maxPositionEmbeddings = try c.decode(Int.self, forKey: .maxPositionEmbeddings)
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
    }

    public static func load(path: String) throws -> BertConfig {
        do { return try JSONTree.load(path: path).decode(BertConfig.self) } catch {
            throw ModelError.badInput("\(path): not a BERT config: \(error)")
        }
    }
}

/// torch.nn.Linear with a bias.
struct TextLinear: Sendable {
    let weight: Tensor  // [out, in]
    let bias: Tensor?   // [out]

    init(_ path: ModulePath, inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        weight = try path.tensor("weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? try path.tensor("bias", shape: [outFeatures]) : nil
    }

    func callAsFunction(_ x: Tensor, activation: Activation = .none) throws -> Tensor {
        try linear(x, weight: weight, bias: bias, activation: activation)
    }
}

/// torch.nn.LayerNorm over the last dimension, with weight and bias.
struct TextLayerNorm: Sendable {
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    init(_ path: ModulePath, dim: Int, eps: Float) throws {
        weight = try path.tensor("weight", shape: [dim])
        bias = try path.tensor("bias", shape: [dim])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// Rows of an embedding table: out[b, t] = weight[ids[b][t]] (padded rows zero).
func embeddingRows(_ weight: Tensor, _ ids: [[Int]], length: Int) throws -> Tensor {
    let dim = weight.shape[1], vocab = weight.shape[0]
    let w = weight.contiguous()
    let out = Tensor(zeros: [ids.count, length, dim])
    for (b, row) in ids.enumerated() {
        for (t, id) in row.prefix(length).enumerated() {
            guard id >= 0 && id < vocab else { throw ModelError.badInput("token id \(id) outside the vocabulary of \(vocab)") }
            (out.data + (b * length + t) * dim).update(from: w.data + id * dim, count: dim)
        }
    }
    return out
}

func textActivation(_ name: String) throws -> Activation {
    switch name {
    case "gelu": return .gelu
    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh
    case "relu": return .relu
    case "silu", "swish": return .silu
    default: throw ModelError.unsupported("activation \(name)")
    }
}

/// transformers' BertModel without the pooler, as the default reel model uses
/// all-MiniLM-L6-v2: embeddings (word + absolute position + token type 0,
/// LayerNorm), then post-LN layers of self-attention with a key-padding mask and
/// a GELU feed-forward. Properties are named after the checkpoint's keys.
public final class BertModel: @unchecked Sendable {
    public let config: BertConfig

    struct Embeddings {
        let word_embeddings: Tensor, position_embeddings: Tensor, token_type_embeddings: Tensor
        let LayerNorm: TextLayerNorm
    }

    struct Layer {
        let query: TextLinear, key: TextLinear, value: TextLinear   // attention.self
        let attentionOutput: TextLinear, attentionLayerNorm: TextLayerNorm   // attention.output
        let intermediate: TextLinear   // intermediate.dense
        let output: TextLinear, outputLayerNorm: TextLayerNorm   // output
    }

    let embeddings: Embeddings
    let layer: [Layer]
    let activation: Activation

    /// `checkpoint` holds BertModel's keys, with or without a "bert." prefix
    /// (BertForMaskedLM and friends); pooler and heads are ignored.
    public init(config c: BertConfig, checkpoint: Checkpoint) throws {
        guard c.positionEmbeddingType ?? "absolute" == "absolute" else {
            throw ModelError.unsupported("BERT position_embedding_type \(c.positionEmbeddingType!)")
        }
        guard c.hiddenSize % c.numAttentionHeads == 0 else {
            throw ModelError.unsupported("hidden_size \(c.hiddenSize) is not a multiple of \(c.numAttentionHeads) heads")
        }
        config = c
        activation = try textActivation(c.hiddenAct)
        let prefixed = checkpoint.source.contains("bert.embeddings.word_embeddings.weight")
        let root = prefixed ? checkpoint["bert"] : checkpoint.root
        let h = c.hiddenSize, eps = c.layerNormEps
        let e = root["embeddings"]
        embeddings = Embeddings(
            word_embeddings: try e["word_embeddings"].tensor("weight", shape: [c.vocabSize, h]),
            position_embeddings: try e["position_embeddings"].tensor("weight", shape: [c.maxPositionEmbeddings, h]),
            token_type_embeddings: try e["token_type_embeddings"].tensor("weight", shape: [c.typeVocabSize, h]),
            LayerNorm: try TextLayerNorm(e["LayerNorm"], dim: h, eps: eps))
        layer = try (0..<c.numHiddenLayers).map { i in
            let l = root["encoder"]["layer"][i]
            return Layer(
                query: try TextLinear(l["attention"]["self"]["query"], inFeatures: h, outFeatures: h),
                key: try TextLinear(l["attention"]["self"]["key"], inFeatures: h, outFeatures: h),
                value: try TextLinear(l["attention"]["self"]["value"], inFeatures: h, outFeatures: h),
                attentionOutput: try TextLinear(l["attention"]["output"]["dense"], inFeatures: h, outFeatures: h),
                attentionLayerNorm: try TextLayerNorm(l["attention"]["output"]["LayerNorm"], dim: h, eps: eps),
                intermediate: try TextLinear(l["intermediate"]["dense"], inFeatures: h, outFeatures: c.intermediateSize),
                output: try TextLinear(l["output"]["dense"], inFeatures: c.intermediateSize, outFeatures: h),
                outputLayerNorm: try TextLayerNorm(l["output"]["LayerNorm"], dim: h, eps: eps))
        }
        let p = prefixed ? "bert." : ""
        try checkpoint.requireAllUsed(ignoring: ["\(p)embeddings.position_ids", "\(p)pooler.", "cls.", "classifier.",
                                                 "qa_outputs.", "pooler."])
    }

    /// Loads DIR/config.json and DIR/model.safetensors (or a sharded index).
    public convenience init(directory: String) throws {
        let config = try BertConfig.load(path: directory + "/config.json")
        try self.init(config: config, checkpoint: Checkpoint(source: try Safetensors.open(directory), path: directory))
    }

    /// The last hidden state [batch, length, hidden] of `ids` (each row at most
    /// `length` ids, the rest padding that the keys mask out). Rows past each
    /// sequence's end are zero.
    public func callAsFunction(_ ids: [[Int]], length: Int? = nil) throws -> Tensor {
        let b = ids.count
        let lengths = ids.map(\.count)
        let l = length ?? (lengths.max() ?? 0)
        guard b > 0, l > 0 else { throw ModelError.badInput("BERT needs at least one token") }
        guard l <= config.maxPositionEmbeddings else {
            throw ModelError.badInput("\(l) tokens exceed BERT's \(config.maxPositionEmbeddings) positions")
        }
        guard lengths.allSatisfy({ $0 <= l && $0 > 0 }) else { throw ModelError.badInput("every sequence needs 1...\(l) tokens") }
        let h = config.hiddenSize, heads = config.numAttentionHeads
        var x = try embeddingRows(embeddings.word_embeddings, ids, length: l)
        let positions = try embeddings.position_embeddings.slice(0, 0, l).unsqueeze(0)
        let tokenType = try embeddings.token_type_embeddings.slice(0, 0, 1).unsqueeze(0)
        x = try embeddings.LayerNorm(x + positions + tokenType)
        let mask = AttentionMask.keyPadding(lengths: lengths)
        for layer in layer {
            func heads_(_ t: Tensor) throws -> Tensor { try t.unflatten(2, [heads, h / heads]).transposed(1, 2) }
            let q = try heads_(layer.query(x)), k = try heads_(layer.key(x)), v = try heads_(layer.value(x))
            let attended = try scaledDotProductAttention(q, k, v, mask: mask).transposed(1, 2).flatten(2)
            x = try layer.attentionLayerNorm(layer.attentionOutput(attended) + x)
            let ff = try layer.output(layer.intermediate(x, activation: activation))
            x = try layer.outputLayerNorm(ff + x)
        }
        zeroPadding(x, lengths: lengths)
        return x
    }
}

/// Zeroes rows t >= lengths[b] of a dense [B, L, D] tensor.
func zeroPadding(_ x: Tensor, lengths: [Int]) {
    precondition(x.isContiguous && x.ndim == 3)
    let (l, d) = (x.shape[1], x.shape[2])
    for (b, n) in lengths.enumerated() where n < l {
        (x.data + (b * l + n) * d).update(repeating: 0, count: (l - n) * d)
    }
}
