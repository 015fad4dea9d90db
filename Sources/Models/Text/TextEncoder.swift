import Foundation
import ReelEngine

/// Prompt embeddings as a Wan transformer takes them: `hidden` is
/// [batch, maxSequenceLength, dim] with each prompt's token states first and
/// zero rows after them (what diffusers' WanPipeline builds for UMT5, and what
/// the default model was trained on for MiniLM).
public struct TextEmbedding: @unchecked Sendable {
    public let hidden: Tensor
    /// Real tokens per prompt, special tokens included (≤ maxSequenceLength).
    public let lengths: [Int]
    public let tokenIds: [[Int]]
    /// Prompts whose tokens were cut at maxSequenceLength.
    public let truncated: [Bool]
}

/// The text encoder a text-to-video model is conditioned on.
public protocol TextEncoder: AnyObject, Sendable {
    /// "all-MiniLM-L6-v2 (BERT)", "UMT5 (24 layers, 4096 wide)", … for logs and errors.
    var name: String { get }
    /// Width of each token state (the transformer's text_dim).
    var dim: Int { get }
    /// Rows of `TextEmbedding.hidden`: prompts are truncated to this many tokens, then zero-padded.
    var maxSequenceLength: Int { get }
    /// Token ids of one prompt, special tokens included, truncated to maxSequenceLength.
    func tokenize(_ prompt: String) -> [Int]
    func embed(_ prompts: [String]) throws -> TextEmbedding
}

extension TextEncoder {
    /// [batch, maxSequenceLength, dim], zero rows after each prompt's tokens.
    public func encode(_ prompts: [String]) throws -> Tensor { try embed(prompts).hidden }
}

/// Runs `prompts` through `run` in chunks (bounded memory), each chunk padded
/// only to its longest prompt, and lays the result out at maxSequenceLength.
func embedInChunks(_ prompts: [String], maxSequenceLength: Int, dim: Int, chunk: Int,
                   tokenize: (String) -> (ids: [Int], truncated: Bool),
                   run: ([[Int]]) throws -> Tensor) throws -> TextEmbedding {
    guard !prompts.isEmpty else { throw ModelError.badInput("no prompts to encode") }
    let tokenized = prompts.map(tokenize)
    let ids = tokenized.map(\.ids)
    let out = Tensor(zeros: [prompts.count, maxSequenceLength, dim])
    var start = 0
    while start < ids.count {
        let rows = Array(ids[start..<Swift.min(start + chunk, ids.count)])
        let h = try run(rows).contiguous()   // [n, longest, dim], zero past each end
        let l = h.shape[1]
        for (i, row) in rows.enumerated() {
            (out.data + (start + i) * maxSequenceLength * dim).update(from: h.data + i * l * dim, count: row.count * dim)
        }
        start += rows.count
    }
    return TextEmbedding(hidden: out, lengths: ids.map(\.count), tokenIds: ids, truncated: tokenized.map(\.truncated))
}

/// BERT with its WordPiece tokenizer — the default reel model's
/// all-MiniLM-L6-v2. Prompts are lower-cased WordPiece `[CLS] … [SEP]`,
/// truncated to maxSequenceLength (48 for the default model, as its training
/// code: training/text_encoder.py), last hidden state, zero rows after.
public final class BertTextEncoder: TextEncoder, @unchecked Sendable {
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    public let name: String
    public let maxSequenceLength: Int
    public var dim: Int { model.config.hiddenSize }
    /// Prompts per forward pass.
    public var batchSize = 16

    public init(tokenizer: WordPieceTokenizer, model: BertModel, maxSequenceLength: Int, name: String = "BERT") throws {
        guard maxSequenceLength >= 2, maxSequenceLength <= model.config.maxPositionEmbeddings else {
            throw ModelError.badInput("max_sequence_length \(maxSequenceLength) must be 2...\(model.config.maxPositionEmbeddings)")
        }
        guard tokenizer.tokens.count <= model.config.vocabSize else {
            throw ModelError.badInput("the vocabulary (\(tokenizer.tokens.count) tokens) is larger than the model's \(model.config.vocabSize)")
        }
        self.tokenizer = tokenizer
        self.model = model
        self.maxSequenceLength = maxSequenceLength
        self.name = name
    }

    /// A directory holding config.json, model.safetensors and vocab.txt (tokenizer files may be in `tokenizerDirectory`).
    public convenience init(directory: String, tokenizerDirectory: String? = nil, maxSequenceLength: Int, name: String = "BERT") throws {
        try self.init(tokenizer: WordPieceTokenizer(directory: tokenizerDirectory ?? directory),
                      model: BertModel(directory: directory), maxSequenceLength: maxSequenceLength, name: name)
    }

    public func tokenize(_ prompt: String) -> [Int] { tokenizer.encode(prompt, maxLength: maxSequenceLength) }

    public func embed(_ prompts: [String]) throws -> TextEmbedding {
        try embedInChunks(prompts, maxSequenceLength: maxSequenceLength, dim: dim, chunk: batchSize, tokenize: { p in
            let full = tokenizer.encode(p)
            return (full.count > maxSequenceLength ? tokenizer.encode(p, maxLength: maxSequenceLength) : full,
                    full.count > maxSequenceLength)
        }, run: { try model($0) })
    }
}

/// UMT5 with its SentencePiece tokenizer — real Wan2.1's text encoder, run as
/// diffusers' WanPipeline does: prompt_clean, `… </s>` truncated to
/// maxSequenceLength (512), last hidden state under the key-padding mask, zero
/// rows after each prompt's tokens.
public final class UMT5TextEncoder: TextEncoder, @unchecked Sendable {
    public let tokenizer: SentencePieceTokenizer
    public let model: UMT5EncoderModel
    public let name: String
    public let maxSequenceLength: Int
    public var dim: Int { model.config.dModel }
    public var batchSize = 4

    public init(tokenizer: SentencePieceTokenizer, model: UMT5EncoderModel, maxSequenceLength: Int = 512, name: String = "UMT5") throws {
        guard maxSequenceLength >= 1 else { throw ModelError.badInput("max_sequence_length must be positive") }
        guard tokenizer.vocabularySize <= model.config.vocabSize else {
            throw ModelError.badInput("the tokenizer's \(tokenizer.vocabularySize) pieces exceed the model's vocabulary of \(model.config.vocabSize)")
        }
        self.tokenizer = tokenizer
        self.model = model
        self.maxSequenceLength = maxSequenceLength
        self.name = name
    }

    public func tokenize(_ prompt: String) -> [Int] { tokenizer.encode(wanPromptClean(prompt), maxLength: maxSequenceLength) }

    public func embed(_ prompts: [String]) throws -> TextEmbedding {
        try embedInChunks(prompts, maxSequenceLength: maxSequenceLength, dim: dim, chunk: batchSize, tokenize: { p in
            let full = tokenizer.encode(wanPromptClean(p))
            return (full.count > maxSequenceLength ? tokenizer.encode(wanPromptClean(p), maxLength: maxSequenceLength) : full,
                    full.count > maxSequenceLength)
        }, run: { try model($0) })
    }
}

public struct TextEncoderOptions: Sendable {
    /// Overrides the model's sequence length (48 for the default model, 512 for Wan2.1).
    public var maxSequenceLength: Int? = nil
    /// UMT5 only: read each block's weights when it runs instead of keeping
    /// fp32 copies resident. nil: stream when fp32 weights would exceed 4 GiB.
    public var streamWeights: Bool? = nil
    /// Where a model directory's text-encoder pointer (reel_text_encoder.json) is resolved.
    public var store: ModelStore = .default
    public init() {}
}

/// Loads the text encoder of a diffusers-layout model directory:
/// - `text_encoder/reel_text_encoder.json` (reel's default model): a pointer to
///   a BERT fetched into the model store (`tools/fetch_minilm.sh` puts
///   all-MiniLM-L6-v2 in STORE/all-minilm-l6-v2), with its max sequence length;
/// - `text_encoder/config.json` of model_type "umt5" (Wan2.1) with
///   `tokenizer/tokenizer.json`, or "bert" with a vocab.txt in tokenizer/ or text_encoder/;
/// - or a BERT directory itself (config.json, model.safetensors, vocab.txt).
public func loadTextEncoder(modelDirectory: String, options: TextEncoderOptions = TextEncoderOptions()) throws -> any TextEncoder {
    let fm = FileManager.default
    let dir = modelDirectory.hasSuffix("/") ? String(modelDirectory.dropLast()) : modelDirectory
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw ModelError.badInput("\(dir): no such model directory")
    }
    let encoderDir = dir + "/text_encoder", tokenizerDir = dir + "/tokenizer"

    let pointer = encoderDir + "/reel_text_encoder.json"
    if fm.fileExists(atPath: pointer) {
        let ref: TextEncoderReference
        do { ref = try JSONTree.load(path: pointer).decode(TextEncoderReference.self) } catch {
            throw ModelError.badInput("\(pointer): \(error)")
        }
        guard ref.format.hasPrefix("reel-text-encoder/") else { throw ModelError.unsupported("\(pointer): format \(ref.format)") }
        guard ref.architecture == "bert" else { throw ModelError.unsupported("\(pointer): architecture \(ref.architecture)") }
        let target = options.store.root.appendingPathComponent(ref.storeDir).path
        guard fm.fileExists(atPath: target + "/model.safetensors") else {
            throw ModelError.badInput("\(ref.name) (the text encoder of \(dir)) is not in \(options.store.root.path): run \(ref.fetch ?? "tools/fetch_minilm.sh")")
        }
        let encoder = try BertTextEncoder(directory: target, maxSequenceLength: options.maxSequenceLength ?? ref.embedding?.maxSequenceLength ?? 48,
                                          name: "\(ref.name) (BERT)")
        if let dim = ref.embedding?.dim, dim != encoder.dim {
            throw ModelError.badInput("\(target) gives \(encoder.dim)-wide states, but \(pointer) expects \(dim): a different model is in the store")
        }
        return encoder
    }

    let configPath = encoderDir + "/config.json"
    if fm.fileExists(atPath: configPath) {
        let modelType = (try? JSONTree.load(path: configPath))?["model_type"]?.string ?? "?"
        switch modelType {
        case "umt5":
            let config = try UMT5Config.load(path: configPath)
            let fp32Bytes = config.parameterCount * 4
            let stream = options.streamWeights ?? (fp32Bytes > 4 << 30)
            let model = try UMT5EncoderModel(directory: encoderDir, streaming: stream)
            let tokenizer = try SentencePieceTokenizer(directory: fm.fileExists(atPath: tokenizerDir) ? tokenizerDir : encoderDir)
            return try UMT5TextEncoder(tokenizer: tokenizer, model: model, maxSequenceLength: options.maxSequenceLength ?? 512,
                                       name: "UMT5 (\(config.numLayers) layers, \(config.dModel) wide\(stream ? ", streamed weights" : ""))")
        case "bert":
            let tokDir = fm.fileExists(atPath: tokenizerDir + "/vocab.txt") ? tokenizerDir : encoderDir
            return try BertTextEncoder(directory: encoderDir, tokenizerDirectory: tokDir,
                                       maxSequenceLength: options.maxSequenceLength ?? 512, name: "BERT")
        case "t5":
            throw ModelError.unsupported("\(configPath): a T5 (not UMT5) text encoder; reel runs UMT5 (Wan2.1's umt5-xxl)")
        default:
            throw ModelError.unsupported("\(configPath): text encoder model_type \(modelType)")
        }
    }

    if fm.fileExists(atPath: dir + "/config.json") && fm.fileExists(atPath: dir + "/vocab.txt") {
        return try BertTextEncoder(directory: dir, maxSequenceLength: options.maxSequenceLength ?? 48, name: "BERT")
    }
    throw ModelError.badInput("\(dir): no text encoder (expected text_encoder/config.json, text_encoder/reel_text_encoder.json, or a BERT directory)")
}

/// text_encoder/reel_text_encoder.json, written by training/export.py.
struct TextEncoderReference: Decodable {
    let format: String
    let architecture: String
    let name: String
    let storeDir: String
    let fetch: String?
    let embedding: Embedding?

    struct Embedding: Decodable {
        let maxSequenceLength: Int?
        let dim: Int?
        enum CodingKeys: String, CodingKey { case maxSequenceLength = "max_sequence_length", dim }
    }

    enum CodingKeys: String, CodingKey {
        case format, architecture, name, storeDir = "store_dir", fetch, embedding
    }
}

/// Bytes the text encoder of `modelDirectory` will hold once loaded by
/// `loadTextEncoder` with the same options (weights as fp32, as the engine
/// computes), before loading anything: BERT is fully resident; UMT5 keeps its
/// embedding in the mapped file (rows are converted as tokens need them) and,
/// streamed, one block's weights at a time. Activations (a few MB per prompt
/// for BERT, heads × tokens² × 4 bytes per UMT5 layer) are not included.
public func estimateTextEncoderBytes(modelDirectory: String, options: TextEncoderOptions = TextEncoderOptions()) throws -> Int {
    let fm = FileManager.default
    let dir = modelDirectory.hasSuffix("/") ? String(modelDirectory.dropLast()) : modelDirectory
    func fp32Bytes(_ source: WeightSource, skipping skip: Set<String> = []) throws -> Int {
        try source.names.filter { !skip.contains($0) }.reduce(0) { $0 + 4 * (try source.info($1).shape.reduce(1, *)) }
    }
    let pointer = dir + "/text_encoder/reel_text_encoder.json"
    if fm.fileExists(atPath: pointer) {
        let ref = try JSONTree.load(path: pointer).decode(TextEncoderReference.self)
        return try fp32Bytes(Safetensors.open(options.store.root.appendingPathComponent(ref.storeDir).path))
    }
    let configPath = dir + "/text_encoder/config.json"
    if fm.fileExists(atPath: configPath), (try? JSONTree.load(path: configPath))?["model_type"]?.string == "umt5" {
        let c = try UMT5Config.load(path: configPath)
        let embedding = c.vocabSize * c.dModel
        let perBlock = (c.parameterCount - embedding - c.dModel) / Swift.max(c.numLayers, 1)
        let stream = options.streamWeights ?? (c.parameterCount * 4 > 4 << 30)
        let source = try Safetensors.open(dir + "/text_encoder")
        let embeddingName = ["shared.weight", "encoder.embed_tokens.weight"].first { source.contains($0) }
        let embeddingIsFP32 = try embeddingName.map { try source.info($0).dtype == .float32 } ?? false
        return 4 * ((stream ? perBlock : perBlock * c.numLayers) + c.dModel + (embeddingIsFP32 ? embedding : 0))
    }
    if fm.fileExists(atPath: configPath) { return try fp32Bytes(Safetensors.open(dir + "/text_encoder")) }
    return try fp32Bytes(Safetensors.open(dir))
}
