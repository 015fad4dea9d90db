import Foundation

/// SentencePiece's compiled normalisation rules (`precompiled_charsmap`, e.g.
/// nmt_nfkc: NFKC plus SentencePiece's own fixes), as tokenizer.json carries
/// them in base64: a little-endian u32 byte size of a Darts double-array trie,
/// the trie's u32 units, then NUL-terminated replacement strings that the
/// trie's values index.
///
/// Applied as HF tokenizers does (which differs from SentencePiece itself on
/// some decomposed input): per grapheme cluster shorter than 6 bytes, the whole
/// cluster is replaced when the trie has a prefix of it, taking the shortest
/// prefix found; otherwise each scalar is looked up on its own.
struct PrecompiledCharsMap: Sendable {
    private let units: [UInt32]
    private let normalized: [UInt8]

    init(base64: String, path: String) throws {
        guard let data = Data(base64Encoded: base64) else {
            throw TokenizerError.invalid(path: path, reason: "precompiled_charsmap is not base64")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw TokenizerError.invalid(path: path, reason: "precompiled_charsmap is too short") }
        let trieSize = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard trieSize % 4 == 0, 4 + trieSize <= bytes.count, trieSize > 0 else {
            throw TokenizerError.invalid(path: path, reason: "precompiled_charsmap's trie size \(trieSize) does not fit its \(bytes.count) bytes")
        }
        var u = [UInt32](repeating: 0, count: trieSize / 4)
        for i in 0..<u.count {
            let o = 4 + 4 * i
            u[i] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        units = u
        normalized = Array(bytes[(4 + trieSize)...])
    }

    // Darts unit fields.
    @inline(__always) private func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    @inline(__always) private func value(_ unit: UInt32) -> Int { Int(unit & ((1 << 31) - 1)) }
    @inline(__always) private func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }
    @inline(__always) private func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// The value of the shortest key that is a prefix of `key`, if any.
    private func firstPrefixValue(_ key: some Collection<UInt8>) -> Int? {
        var pos = 0
        guard !units.isEmpty else { return nil }
        pos ^= offset(units[pos])
        for c in key {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos < units.count else { return nil }
            let unit = units[pos]
            if label(unit) != UInt32(c) { return nil }
            pos ^= offset(unit)
            guard pos < units.count else { return nil }
            if hasLeaf(unit) { return value(units[pos]) }
        }
        return nil
    }

    /// The replacement for `chunk`, or nil when the rules leave it alone.
    private func transform(_ chunk: some Collection<UInt8>) -> [UInt8]? {
        guard let index = firstPrefixValue(chunk), index < normalized.count else { return nil }
        var end = index
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        return Array(normalized[index..<end])
    }

    func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let g = Array(String(grapheme).utf8)
            if g.count < 6, let r = transform(g) { out.append(contentsOf: r); continue }
            for s in grapheme.unicodeScalars {
                let b = Array(String(s).utf8)
                if let r = transform(b) { out.append(contentsOf: r) } else { out.append(contentsOf: b) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
