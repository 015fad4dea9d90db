import Foundation

// The pieces of an HF tokenizer.json pipeline that SentencePiece-style
// tokenizers (T5, UMT5) use, read from the file with libjansson (JSONTree):
// normalizers, pre-tokenizers and the template post-processor. Anything else
// is refused by name rather than silently skipped.

enum TokenizerJSON {
    static func load(_ path: String) throws -> JSONTree {
        do { return try JSONTree.load(path: path) } catch {
            throw TokenizerError.unreadable(path: path, reason: "\(error)")
        }
    }
}

extension JSONTree {
    var object: [String: JSONTree]? { if case .object(let o) = self { return o }; return nil }
    var array: [JSONTree]? { if case .array(let a) = self { return a }; return nil }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    var int: Int? {
        switch self {
        case .int(let i): return Int(i)
        case .double(let d) where d.rounded() == d: return Int(d)
        default: return nil
        }
    }
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    subscript(_ key: String) -> JSONTree? { object?[key] }
}

/// A tokenizer.json normalizer.
indirect enum TextNormalizer: Sendable {
    case sequence([TextNormalizer])
    case precompiled(PrecompiledCharsMap)
    case replace(pattern: ReplacePattern, content: String)
    case strip(left: Bool, right: Bool)
    case nfc, nfd, nfkc, nfkd, lowercase
    case prepend(String)

    enum ReplacePattern: @unchecked Sendable {
        case string(String)
        case regex(NSRegularExpression)
    }

    init(_ tree: JSONTree, path: String) throws {
        guard let type = tree["type"]?.string else { throw TokenizerError.invalid(path: path, reason: "a normalizer without a type") }
        switch type {
        case "Sequence":
            self = .sequence(try (tree["normalizers"]?.array ?? []).map { try TextNormalizer($0, path: path) })
        case "Precompiled":
            guard let b64 = tree["precompiled_charsmap"]?.string else {
                // A null charsmap normalises nothing (HF treats it as identity).
                self = .sequence([]); return
            }
            self = .precompiled(try PrecompiledCharsMap(base64: b64, path: path))
        case "Replace":
            let content = tree["content"]?.string ?? ""
            if let s = tree["pattern"]?["String"]?.string {
                self = .replace(pattern: .string(s), content: content)
            } else if let r = tree["pattern"]?["Regex"]?.string {
                do { self = .replace(pattern: .regex(try NSRegularExpression(pattern: r)), content: content) } catch {
                    throw TokenizerError.invalid(path: path, reason: "Replace regex \(r): \(error)")
                }
            } else {
                throw TokenizerError.invalid(path: path, reason: "Replace without a String or Regex pattern")
            }
        case "Strip":
            self = .strip(left: tree["strip_left"]?.bool ?? tree["left"]?.bool ?? true,
                          right: tree["strip_right"]?.bool ?? tree["right"]?.bool ?? true)
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Prepend": self = .prepend(tree["prepend"]?.string ?? "")
        default:
            throw TokenizerError.unsupported(path: path, what: "normalizer \(type)")
        }
    }

    func apply(_ text: String) -> String {
        switch self {
        case .sequence(let list): return list.reduce(text) { $1.apply($0) }
        case .precompiled(let map): return map.normalize(text)
        case .replace(.string(let s), let content):
            return s.isEmpty ? text : text.replacingOccurrences(of: s, with: content, options: .literal)
        case .replace(.regex(let re), let content):
            let ns = text as NSString
            return re.stringByReplacingMatches(in: text, range: NSRange(location: 0, length: ns.length),
                                               withTemplate: NSRegularExpression.escapedTemplate(for: content))
        case .strip(let left, let right):
            var scalars = Array(text.unicodeScalars)
            if right { while let l = scalars.last, l.isRustWhitespace { scalars.removeLast() } }
            if left { scalars = Array(scalars.drop { $0.isRustWhitespace }) }
            return String(scalars: scalars)
        case .nfc: return text.nfc
        case .nfd: return text.nfd
        case .nfkc: return text.nfkc
        case .nfkd: return text.nfkd
        case .lowercase:
            var out = String.UnicodeScalarView()
            for s in text.unicodeScalars { out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
            return String(out)
        case .prepend(let p): return text.isEmpty ? text : p + text
        }
    }
}

/// A tokenizer.json pre-tokenizer: text in, words out.
indirect enum TextPreTokenizer: Sendable {
    case sequence([TextPreTokenizer])
    case whitespaceSplit
    case metaspace(replacement: String, prepend: PrependScheme, split: Bool)

    enum PrependScheme: Sendable { case always, first, never }

    init(_ tree: JSONTree, path: String) throws {
        guard let type = tree["type"]?.string else { throw TokenizerError.invalid(path: path, reason: "a pre_tokenizer without a type") }
        switch type {
        case "Sequence":
            self = .sequence(try (tree["pretokenizers"]?.array ?? []).map { try TextPreTokenizer($0, path: path) })
        case "WhitespaceSplit":
            self = .whitespaceSplit
        case "Metaspace":
            let replacement = tree["replacement"]?.string ?? "\u{2581}"
            var scheme = PrependScheme.always
            switch tree["prepend_scheme"]?.string {
            case "first"?: scheme = .first
            case "never"?: scheme = .never
            case "always"?: scheme = .always
            default:  // the older serialisation: add_prefix_space
                scheme = (tree["add_prefix_space"]?.bool ?? true) ? .always : .never
            }
            self = .metaspace(replacement: replacement, prepend: scheme, split: tree["split"]?.bool ?? true)
        default:
            throw TokenizerError.unsupported(path: path, what: "pre_tokenizer \(type)")
        }
    }

    /// `atStart`: the piece begins at offset 0 of the original text (Metaspace's "first" scheme).
    func apply(_ words: [(String, atStart: Bool)]) -> [(String, atStart: Bool)] {
        switch self {
        case .sequence(let list):
            return list.reduce(words) { $1.apply($0) }
        case .whitespaceSplit:
            var out: [(String, atStart: Bool)] = []
            for (w, atStart) in words {
                var current = String.UnicodeScalarView()
                var first = atStart
                var leading = true
                for s in w.unicodeScalars {
                    if s.isRustWhitespace {
                        if !current.isEmpty { out.append((String(current), first)); current = String.UnicodeScalarView(); first = false }
                        if leading { first = false }
                    } else {
                        current.append(s)
                        leading = false
                    }
                }
                if !current.isEmpty { out.append((String(current), first)) }
            }
            return out
        case .metaspace(let replacement, let scheme, let split):
            var out: [(String, atStart: Bool)] = []
            let rep = Character(replacement)
            for (w, atStart) in words {
                var s = w.replacingOccurrences(of: " ", with: replacement, options: .literal)
                let prepend = scheme == .always || (scheme == .first && atStart)
                if prepend && !s.hasPrefix(replacement) && !s.isEmpty { s = replacement + s }
                if !split { if !s.isEmpty { out.append((s, atStart)) }; continue }
                // Split before every replacement character, keeping it with what follows.
                var current = ""
                var first = atStart
                for ch in s.unicodeScalars {
                    if Character(ch) == rep && !current.isEmpty { out.append((current, first)); current = ""; first = false }
                    current.unicodeScalars.append(ch)
                }
                if !current.isEmpty { out.append((current, first)) }
            }
            return out
        }
    }
}

/// TemplateProcessing for a single sequence: fixed ids before and after it.
struct TemplatePostProcessor: Sendable {
    var prefix: [Int] = []
    var suffix: [Int] = []
    var count: Int { prefix.count + suffix.count }

    init() {}

    init(_ tree: JSONTree, path: String) throws {
        guard tree["type"]?.string == "TemplateProcessing" else {
            throw TokenizerError.unsupported(path: path, what: "post_processor \(tree["type"]?.string ?? "?")")
        }
        var specials: [String: [Int]] = [:]
        for (name, v) in tree["special_tokens"]?.object ?? [:] {
            specials[name] = (v["ids"]?.array ?? []).compactMap(\.int)
        }
        var seenSequence = false
        for item in tree["single"]?.array ?? [] {
            if item["Sequence"] != nil { seenSequence = true; continue }
            guard let id = item["SpecialToken"]?["id"]?.string, let ids = specials[id] else {
                throw TokenizerError.invalid(path: path, reason: "TemplateProcessing names an unknown special token")
            }
            if seenSequence { suffix += ids } else { prefix += ids }
        }
    }
}
