// Special tokens written literally in a prompt ("[SEP]", "</s>", "<extra_id_0>")
// map straight to their ids, as HF tokenizers' added vocabulary does: the raw
// text is split on them (leftmost, longest match) before normalisation, and
// only the pieces between them are normalised and segmented.

/// One piece of input: text still to tokenize, or an added token's id.
enum TextSegment: Equatable {
    case text(String)
    case token(Int)
}

struct AddedTokens: Sendable {
    /// Token contents as UTF-8 bytes, grouped by first byte, longest first.
    private let byFirstByte: [UInt8: [([UInt8], Int)]]

    init(_ tokens: [(content: String, id: Int)]) {
        var map: [UInt8: [([UInt8], Int)]] = [:]
        for (content, id) in tokens where !content.isEmpty {
            let b = Array(content.utf8)
            map[b[0], default: []].append((b, id))
        }
        for k in map.keys { map[k]!.sort { $0.0.count > $1.0.count } }
        byFirstByte = map
    }

    var isEmpty: Bool { byFirstByte.isEmpty }

    func split(_ text: String) -> [TextSegment] {
        if byFirstByte.isEmpty { return [.text(text)] }
        let bytes = Array(text.utf8)
        var out: [TextSegment] = []
        var start = 0, i = 0
        while i < bytes.count {
            if let candidates = byFirstByte[bytes[i]],
               let (match, id) = candidates.first(where: { c in
                   i + c.0.count <= bytes.count && bytes[i..<(i + c.0.count)].elementsEqual(c.0)
               }) {
                if start < i { out.append(.text(String(decoding: bytes[start..<i], as: UTF8.self))) }
                out.append(.token(id))
                i += match.count
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { out.append(.text(String(decoding: bytes[start...], as: UTF8.self))) }
        return out
    }
}
