import Foundation

// Character classes as HF `tokenizers` (Rust) defines them, so that Swift and
// the reference split text at the same places. Everything works on Unicode
// scalars (Rust `char`s), never on Swift `Character`s, except where HF itself
// walks grapheme clusters (the Precompiled normalizer).

extension Unicode.Scalar {
    /// Rust `char::is_whitespace`: the Unicode White_Space property.
    var isRustWhitespace: Bool { properties.isWhitespace }

    /// BertNormalizer's whitespace: \t \n \r or White_Space.
    var isBertWhitespace: Bool { value == 0x09 || value == 0x0A || value == 0x0D || properties.isWhitespace }

    /// BertNormalizer's control: any "other" category (Cc, Cf, Co, Cn, Cs) except \t \n \r.
    var isBertControl: Bool {
        if value == 0x09 || value == 0x0A || value == 0x0D { return false }
        switch properties.generalCategory {
        case .control, .format, .privateUse, .unassigned, .surrogate: return true
        default: return false
        }
    }

    /// BertPreTokenizer's punctuation: ASCII punctuation (which includes symbols
    /// such as $ + < = > ^ ` | ~) or any Unicode P* category.
    var isBertPunctuation: Bool {
        let v = value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// The CJK Unified Ideograph blocks BERT surrounds with spaces.
    var isCJKIdeograph: Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }

    /// Python's `str.isspace` (what `\s` matches in `re`): White_Space plus the
    /// information separators U+001C...U+001F.
    var isPythonSpace: Bool { properties.isWhitespace || (0x1C...0x1F).contains(value) }
}

/// Text as a sequence of scalars, with the few string operations tokenizers need.
extension String {
    init(scalars: some Sequence<Unicode.Scalar>) {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        self = String(s)
    }

    /// Canonical decomposition (NFD).
    var nfd: String { decomposedStringWithCanonicalMapping }
    var nfc: String { precomposedStringWithCanonicalMapping }
    var nfkd: String { decomposedStringWithCompatibilityMapping }
    var nfkc: String { precomposedStringWithCompatibilityMapping }
}

/// A byte string used as a dictionary key. Swift `String` equality is canonical
/// equivalence ("é" == "e\u{301}"), while tokenizers compare bytes; vocabularies
/// are therefore keyed by UTF-8 bytes.
struct ByteKey: Hashable {
    let bytes: [UInt8]
    init(_ s: String) { bytes = Array(s.utf8) }
    init(_ b: [UInt8]) { bytes = b }
    init(_ b: ArraySlice<UInt8>) { bytes = Array(b) }
}
