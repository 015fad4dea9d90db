import Foundation

/// The SentencePiece Unigram tokenizer of T5-family text encoders (UMT5 for
/// Wan2.1), read from a model directory's tokenizer.json the way HF
/// tokenizers runs it: added (special) tokens matched in the raw text, then per
/// remaining piece the normalizer (Precompiled charsmap, Replace, Strip, …), the
/// pre-tokenizer (Metaspace `▁`, WhitespaceSplit) and Unigram Viterbi
/// segmentation with optional byte fallback; finally the template (`… </s>`).
///
/// Truncation keeps the first `maxLength − (template tokens)` pieces and then
/// appends the template's tokens, so a truncated prompt still ends with `</s>`
/// (HF's `truncation=True, max_length=N`).
public struct SentencePieceTokenizer: Sendable {
    let model: UnigramModel
    let normalizer: TextNormalizer?
    let preTokenizer: TextPreTokenizer?
    let template: TemplatePostProcessor
    let added: AddedTokens
    public let padId: Int
    public let eosId: Int?
    public let unkId: Int
    public var vocabularySize: Int { model.pieces.count }

    /// Reads DIR/tokenizer.json (and special_tokens_map.json for the pad token).
    /// spiece.model alone is not enough: export a tokenizer.json with
    /// transformers (every diffusers Wan2.1 directory ships one).
    public init(directory: String) throws {
        let path = directory + "/tokenizer.json"
        guard FileManager.default.fileExists(atPath: path) else {
            let hint = FileManager.default.fileExists(atPath: directory + "/spiece.model")
                ? " (spiece.model is there: convert it once with transformers' T5TokenizerFast.save_pretrained)" : ""
            throw TokenizerError.unreadable(path: path, reason: "no tokenizer.json in \(directory)\(hint)")
        }
        try self.init(tokenizerJSON: path, specialTokensMap: directory + "/special_tokens_map.json")
    }

    public init(tokenizerJSON path: String, specialTokensMap: String? = nil) throws {
        let tree = try TokenizerJSON.load(path)
        guard let m = tree["model"], m["type"]?.string == "Unigram" else {
            throw TokenizerError.unsupported(path: path, what: "model \(tree["model"]?["type"]?.string ?? "?") (expected Unigram)")
        }
        guard let vocabTree = m["vocab"]?.array, !vocabTree.isEmpty else {
            throw TokenizerError.invalid(path: path, reason: "the Unigram model has no vocab")
        }
        var vocab: [(String, Double)] = []
        vocab.reserveCapacity(vocabTree.count)
        for (i, entry) in vocabTree.enumerated() {
            guard let pair = entry.array, pair.count == 2, let piece = pair[0].string, let score = pair[1].number else {
                throw TokenizerError.invalid(path: path, reason: "vocab entry \(i) is not [piece, score]")
            }
            vocab.append((piece, score))
        }
        guard let unk = m["unk_id"]?.int, vocab.indices.contains(unk) else {
            throw TokenizerError.invalid(path: path, reason: "the Unigram model needs an unk_id inside its vocabulary")
        }
        model = UnigramModel(vocabulary: vocab, unkId: unk, byteFallback: m["byte_fallback"]?.bool ?? false)
        unkId = unk
        normalizer = try tree["normalizer"].flatMap { $0 == .null ? nil : try TextNormalizer($0, path: path) }
        preTokenizer = try tree["pre_tokenizer"].flatMap { $0 == .null ? nil : try TextPreTokenizer($0, path: path) }
        if let pp = tree["post_processor"], pp != .null {
            template = try TemplatePostProcessor(pp, path: path)
        } else {
            template = TemplatePostProcessor()
        }
        var addedList: [(content: String, id: Int)] = []
        for t in tree["added_tokens"]?.array ?? [] {
            if let c = t["content"]?.string, let id = t["id"]?.int { addedList.append((c, id)) }
        }
        added = AddedTokens(addedList)
        // The pad token: special_tokens_map.json, else "<pad>", else 0 (T5's layout).
        var padToken = "<pad>"
        if let smPath = specialTokensMap, FileManager.default.fileExists(atPath: smPath) {
            let sm = try TokenizerJSON.load(smPath)
            if let s = sm["pad_token"]?.string ?? sm["pad_token"]?["content"]?.string { padToken = s }
        }
        padId = model.id(padToken) ?? 0
        eosId = model.id("</s>")
    }

    /// Normalised, pre-tokenized words of `text` (no added-token handling).
    func words(_ text: String, atStart: Bool) -> [String] {
        let normalized = normalizer?.apply(text) ?? text
        if normalized.isEmpty { return [] }
        let words = preTokenizer?.apply([(normalized, atStart)]) ?? [(normalized, atStart)]
        return words.map(\.0).filter { !$0.isEmpty }
    }

    /// Piece ids of `text` without the template's tokens.
    public func tokenize(_ text: String) -> [Int] {
        var out: [Int] = []
        var atStart = true
        for segment in added.split(text) {
            switch segment {
            case .token(let id): out.append(id)
            case .text(let t): for w in words(t, atStart: atStart) { model.encode(w, into: &out) }
            }
            atStart = false
        }
        return out
    }

    /// The template around the pieces (`… </s>` for T5), at most `maxLength` ids.
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        var pieces = tokenize(text)
        if let maxLength { pieces = Array(pieces.prefix(Swift.max(maxLength - template.count, 0))) }
        return template.prefix + pieces + template.suffix
    }

    public func piece(_ id: Int) -> String? { model.pieces.indices.contains(id) ? model.pieces[id] : nil }
}
