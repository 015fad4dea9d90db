import Foundation

/// BERT's tokenizer (uncased models such as all-MiniLM-L6-v2), as HF
/// tokenizers runs it from tokenizer.json: BertNormalizer (drop control
/// characters, whitespace to spaces, spaces around CJK ideographs, strip accents,
/// lower-case), BertPreTokenizer (split on whitespace, punctuation on its own),
/// greedy longest-match WordPiece with the `##` continuation prefix, and
/// `[CLS] … [SEP]` around the result.
///
/// Truncation keeps the first `maxLength - 2` word pieces and always ends with
/// `[SEP]` (HF's `truncation=True, max_length=N`).
public struct WordPieceTokenizer: Sendable {
    public struct Options: Sendable, Equatable {
        public var lowercase = true
        /// nil: strip accents exactly when lower-casing (BERT's rule).
        public var stripAccents: Bool? = nil
        public var tokenizeChineseChars = true
        public var cleanText = true
        public var unkToken = "[UNK]"
        public var clsToken = "[CLS]"
        public var sepToken = "[SEP]"
        public var padToken = "[PAD]"
        public var continuingSubwordPrefix = "##"
        public var maxInputCharsPerWord = 100
        public init() {}
    }

    public let options: Options
    /// Token strings by id (vocab.txt order).
    public let tokens: [String]
    private let ids: [ByteKey: Int]
    public let unkId: Int
    public let clsId: Int
    public let sepId: Int
    public let padId: Int
    private let added: AddedTokens

    public init(vocabulary: [String], options: Options = Options()) throws {
        self.options = options
        tokens = vocabulary
        var map: [ByteKey: Int] = [:]
        map.reserveCapacity(vocabulary.count)
        for (i, t) in vocabulary.enumerated() where map[ByteKey(t)] == nil { map[ByteKey(t)] = i }
        ids = map
        func id(_ t: String) throws -> Int {
            guard let i = map[ByteKey(t)] else { throw TokenizerError.missingToken(t) }
            return i
        }
        unkId = try id(options.unkToken)
        clsId = try id(options.clsToken)
        sepId = try id(options.sepToken)
        padId = try id(options.padToken)
        // The special tokens are matched literally in the raw text, as HF's added vocabulary does.
        let specials = [options.padToken, options.unkToken, options.clsToken, options.sepToken, "[MASK]"]
        added = AddedTokens(specials.compactMap { t in map[ByteKey(t)].map { (t, $0) } })
    }

    /// Reads a tokenizer directory: vocab.txt (one token a line, id = line
    /// number; else tokenizer.json's WordPiece vocabulary), and the settings of tokenizer.json's BertNormalizer and WordPiece
    /// model or, without it, tokenizer_config.json's do_lower_case, strip_accents
    /// and tokenize_chinese_chars.
    public init(directory: String) throws {
        let vocabPath = directory + "/vocab.txt"
        let fm = FileManager.default
        let tree = fm.fileExists(atPath: directory + "/tokenizer.json") ? try TokenizerJSON.load(directory + "/tokenizer.json") : nil
        var lines: [String]
        if let text = try? String(contentsOfFile: vocabPath, encoding: .utf8) {
            lines = text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            lines = lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        } else if let vocab = tree?["model"]?["vocab"]?.object, !vocab.isEmpty {
            // tokenizer.json alone: its WordPiece vocabulary maps token -> id.
            lines = [String](repeating: "", count: (vocab.values.compactMap(\.int).max() ?? -1) + 1)
            for (token, id) in vocab {
                guard let i = id.int, i >= 0 else {
                    throw TokenizerError.invalid(path: directory + "/tokenizer.json", reason: "vocab id of \(token) is not a non-negative integer")
                }
                lines[i] = token
            }
        } else {
            throw TokenizerError.unreadable(path: vocabPath, reason: "no vocab.txt (a WordPiece vocabulary) nor a WordPiece tokenizer.json in \(directory)")
        }
        var o = Options()
        if let tree {
            if case .object(let n)? = tree.object?["normalizer"], n["type"] == .string("BertNormalizer") {
                if case .bool(let b)? = n["lowercase"] { o.lowercase = b }
                if case .bool(let b)? = n["strip_accents"] { o.stripAccents = b }
                if case .bool(let b)? = n["handle_chinese_chars"] { o.tokenizeChineseChars = b }
                if case .bool(let b)? = n["clean_text"] { o.cleanText = b }
            }
            if case .object(let m)? = tree.object?["model"] {
                guard m["type"] == .string("WordPiece") else {
                    throw TokenizerError.unsupported(path: directory + "/tokenizer.json", what: "model \(m["type"].map { "\($0)" } ?? "?"), expected WordPiece")
                }
                if case .string(let s)? = m["unk_token"] { o.unkToken = s }
                if case .string(let s)? = m["continuing_subword_prefix"] { o.continuingSubwordPrefix = s }
                if case .int(let n)? = m["max_input_chars_per_word"] { o.maxInputCharsPerWord = Int(n) }
            }
        } else if fm.fileExists(atPath: directory + "/tokenizer_config.json") {
            let tree = try TokenizerJSON.load(directory + "/tokenizer_config.json")
            if case .bool(let b)? = tree.object?["do_lower_case"] { o.lowercase = b }
            if case .bool(let b)? = tree.object?["strip_accents"] { o.stripAccents = b }
            if case .bool(let b)? = tree.object?["tokenize_chinese_chars"] { o.tokenizeChineseChars = b }
        }
        if fm.fileExists(atPath: directory + "/special_tokens_map.json"),
           let map = try TokenizerJSON.load(directory + "/special_tokens_map.json").object {
            func special(_ key: String) -> String? {
                switch map[key] {
                case .string(let s)?: return s
                case .object(let o)?: if case .string(let s)? = o["content"] { return s }
                default: break
                }
                return nil
            }
            o.unkToken = special("unk_token") ?? o.unkToken
            o.clsToken = special("cls_token") ?? o.clsToken
            o.sepToken = special("sep_token") ?? o.sepToken
            o.padToken = special("pad_token") ?? o.padToken
        }
        try self.init(vocabulary: lines, options: o)
    }

    // MARK: Normalisation and pre-tokenization

    /// BertNormalizer, in HF's order: clean, CJK, accents, lower case.
    public func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if options.cleanText {
                if s.value == 0 || s.value == 0xFFFD || s.isBertControl { continue }
                if s.isBertWhitespace { out.append(" "); continue }
            }
            if options.tokenizeChineseChars && s.isCJKIdeograph {
                out.append(" "); out.append(s); out.append(" ")
            } else {
                out.append(s)
            }
        }
        var result = String(out)
        if options.stripAccents ?? options.lowercase {
            result = String(scalars: result.nfd.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark })
        }
        if options.lowercase {
            var lowered = String.UnicodeScalarView()
            for s in result.unicodeScalars { lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
            result = String(lowered)
        }
        return result
    }

    /// BertPreTokenizer: whitespace separates words, each punctuation character is a word.
    public func preTokenize(_ normalized: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() { if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() } }
        for s in normalized.unicodeScalars {
            if s.isRustWhitespace { flush() }
            else if s.isBertPunctuation { flush(); words.append(String(s)) }
            else { current.append(s) }
        }
        flush()
        return words
    }

    /// Greedy longest-match-first WordPiece of one word; a word that cannot be
    /// covered, or longer than `maxInputCharsPerWord` characters, is `[UNK]`.
    func wordPiece(_ word: String, into out: inout [Int]) {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > options.maxInputCharsPerWord { out.append(unkId); return }
        let prefix = Array(options.continuingSubwordPrefix.utf8)
        // UTF-8 offsets of each scalar boundary.
        var offsets = [0]
        var bytes: [UInt8] = []
        for s in scalars { bytes.append(contentsOf: String(s).utf8); offsets.append(bytes.count) }
        var pieces: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int? = nil
            while end > start {
                let piece = start > 0 ? prefix + bytes[offsets[start]..<offsets[end]] : Array(bytes[offsets[start]..<offsets[end]])
                if let id = ids[ByteKey(piece)] { found = id; break }
                end -= 1
            }
            guard let id = found else { out.append(unkId); return }
            pieces.append(id)
            start = end
        }
        out.append(contentsOf: pieces)
    }

    /// Word-piece ids of `text` without special tokens.
    public func tokenize(_ text: String) -> [Int] {
        var out: [Int] = []
        for segment in added.split(text) {
            switch segment {
            case .token(let id): out.append(id)
            case .text(let t): for w in preTokenize(normalize(t)) { wordPiece(w, into: &out) }
            }
        }
        return out
    }

    /// `[CLS] pieces [SEP]`, at most `maxLength` ids (nil: no limit).
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        var pieces = tokenize(text)
        if let maxLength { pieces = Array(pieces.prefix(Swift.max(maxLength - 2, 0))) }
        return [clsId] + pieces + [sepId]
    }

    public func token(_ id: Int) -> String? { tokens.indices.contains(id) ? tokens[id] : nil }
}

public enum TokenizerError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case missingToken(String)
    case unsupported(path: String, what: String)
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "\(p): \(r)"
        case .missingToken(let t): return "the vocabulary has no \(t) token"
        case .unsupported(let p, let w): return "\(p): unsupported \(w)"
        case .invalid(let p, let r): return "\(p): \(r)"
        }
    }
}
