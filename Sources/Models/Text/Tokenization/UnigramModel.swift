/// SentencePiece's Unigram language model segmentation as HF tokenizers runs
/// it: Viterbi over a lattice of every vocabulary piece that starts at each
/// character (byte trie, common-prefix search), a character no piece covers is
/// `<unk>` with score min(scores) − 10, consecutive unknowns fuse into one, and
/// with byte fallback an unknown piece becomes its UTF-8 bytes `<0xXX>` when the
/// vocabulary has each of them.
struct UnigramModel: Sendable {
    let pieces: [String]
    let scores: [Double]
    let unkId: Int
    let byteFallback: Bool
    private let minScore: Double
    private let ids: [ByteKey: Int]
    /// Trie edges: (node << 8 | byte) -> child node; `terminal[node]` is the piece id ending there (or -1).
    private let edges: [UInt64: Int32]
    private let terminal: [Int32]
    private let byteIds: [Int?]   // ids of <0x00>...<0xFF>

    static let unknownPenalty = 10.0

    init(vocabulary: [(String, Double)], unkId: Int, byteFallback: Bool) {
        pieces = vocabulary.map(\.0)
        scores = vocabulary.map(\.1)
        self.unkId = unkId
        self.byteFallback = byteFallback
        minScore = scores.min() ?? 0
        var ids: [ByteKey: Int] = [:]
        ids.reserveCapacity(vocabulary.count)
        var edges: [UInt64: Int32] = [:]
        var terminal: [Int32] = [-1]
        for (id, piece) in pieces.enumerated() {
            let bytes = Array(piece.utf8)
            ids[ByteKey(bytes)] = id  // as HF: a later duplicate wins
            var node = 0
            for b in bytes {
                let key = UInt64(node) << 8 | UInt64(b)
                if let child = edges[key] { node = Int(child) } else {
                    terminal.append(-1)
                    edges[key] = Int32(terminal.count - 1)
                    node = terminal.count - 1
                }
            }
            if !bytes.isEmpty { terminal[node] = Int32(id) }
        }
        // A duplicate piece maps to the last id in `ids`; make the trie agree.
        for (key, id) in ids {
            var node = 0
            for b in key.bytes { node = Int(edges[UInt64(node) << 8 | UInt64(b)]!) }
            terminal[node] = Int32(id)
        }
        self.ids = ids
        self.edges = edges
        self.terminal = terminal
        let hex = Array("0123456789ABCDEF")
        byteIds = (0..<256).map { ids[ByteKey("<0x\(hex[$0 >> 4])\(hex[$0 & 15])>")] }
    }

    func id(_ piece: String) -> Int? { ids[ByteKey(piece)] }

    /// Ids of one pre-tokenized piece of normalised text.
    func encode(_ text: String, into out: inout [Int]) {
        let bytes = Array(text.utf8)
        let n = bytes.count
        if n == 0 { return }
        // best[i]: the best path over bytes[0..<i].
        var bestScore = [Double](repeating: 0, count: n + 1)
        var bestStart = [Int](repeating: -1, count: n + 1)
        var bestId = [Int](repeating: -1, count: n + 1)
        let unkScore = minScore - Self.unknownPenalty
        var start = 0
        while start < n {
            let base = bestScore[start]
            let charLength = Self.utf8Length(bytes[start])
            var hasSingleNode = false
            var node = 0
            var pos = start
            while pos < n, let child = edges[UInt64(node) << 8 | UInt64(bytes[pos])] {
                node = Int(child)
                pos += 1
                let id = Int(terminal[node])
                if id >= 0 {
                    let candidate = base + scores[id]
                    if bestStart[pos] < 0 || candidate > bestScore[pos] {
                        bestScore[pos] = candidate; bestStart[pos] = start; bestId[pos] = id
                    }
                    if pos - start == charLength { hasSingleNode = true }
                }
            }
            if !hasSingleNode {
                let end = Swift.min(start + charLength, n)
                let candidate = base + unkScore
                if bestStart[end] < 0 || candidate > bestScore[end] {
                    bestScore[end] = candidate; bestStart[end] = start; bestId[end] = unkId
                }
            }
            start += charLength
        }
        // Back-track, fusing runs of unknowns into one piece.
        var spans: [(Int, Int, Int)] = []  // (start, end, id)
        var end = n
        while end > 0 {
            let s = bestStart[end], id = bestId[end]
            if id == unkId, let last = spans.last, last.2 == unkId, last.0 == end {
                spans[spans.count - 1] = (s, last.1, unkId)
            } else {
                spans.append((s, end, id))
            }
            end = s
        }
        for (s, e, id) in spans.reversed() {
            if id != unkId { out.append(id); continue }
            // The fused piece may still be a vocabulary entry (HF looks the string up again).
            let piece = Array(bytes[s..<e])
            if let known = ids[ByteKey(piece)] { out.append(known) }
            else if byteFallback, piece.allSatisfy({ byteIds[Int($0)] != nil }) { out.append(contentsOf: piece.map { byteIds[Int($0)]! }) }
            else { out.append(unkId) }
        }
    }

    static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0x80: return 1
        case 0xC0..<0xE0: return 2
        case 0xE0..<0xF0: return 3
        case 0xF0...: return 4
        default: return 1
        }
    }
}
