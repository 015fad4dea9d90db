import Foundation
import XCTest
@testable import ReelModels

/// Token ids against HF tokenizers (fixtures from tools/parity/text_fixtures.py):
/// WordPiece on the real MiniLM vocabulary, Unigram on a SentencePiece model in
/// Wan2.1's tokenizer.json layout; every one of the 500 real prompts.
final class TokenizerParityTests: XCTestCase {
    func testWordPieceMatchesHFOnAll500Prompts() throws {
        let tok = try WordPieceTokenizer(directory: try TextFixtures.miniLMDirectory())
        let fixture = try TextFixtures.json("wordpiece.json")
        let expected = fixture["prompt_ids"]?.array ?? []
        try assertSameIDsOnEveryPrompt("WordPiece", expected: expected, encode: { tok.encode($0) })
    }

    func testWordPieceEdgeCasesAndTruncation() throws {
        let tok = try WordPieceTokenizer(directory: try TextFixtures.miniLMDirectory())
        let fixture = try TextFixtures.json("wordpiece.json")
        // Hand-written edge cases, then 200 seeded random strings over many scripts, emoji and control characters.
        XCTAssertEqual(fixture["random"]?.array?.count, 200)
        for c in (fixture["edge_cases"]?.array ?? []) + (fixture["random"]?.array ?? []) {
            let text = TextFixtures.text(c)
            XCTAssertEqual(tok.encode(text), TextFixtures.ids(c["ids"]), "edge case \(text.debugDescription)")
        }
        let maxLength = fixture["max_length"]!.int!
        for c in fixture["truncated"]?.array ?? [] {
            let text = TextFixtures.text(c)
            let got = tok.encode(text, maxLength: maxLength)
            XCTAssertEqual(got, TextFixtures.ids(c["ids"]), "truncated \(text.debugDescription)")
            XCTAssertLessThanOrEqual(got.count, maxLength)
            XCTAssertEqual(got.last, tok.sepId)
        }
    }

    /// A directory with only tokenizer.json (no vocab.txt) tokenizes the same.
    func testWordPieceFromTokenizerJSONAlone() throws {
        let source = try TextFixtures.miniLMDirectory()
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("reel-wp-json-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.copyItem(atPath: source + "/tokenizer.json", toPath: tmp.path + "/tokenizer.json")
        let a = try WordPieceTokenizer(directory: source), b = try WordPieceTokenizer(directory: tmp.path)
        XCTAssertEqual(a.tokens, b.tokens)
        for p in try TextFixtures.prompts().prefix(50) { XCTAssertEqual(a.encode(p), b.encode(p)) }
    }

    /// The T5Converter tokenizer.json (Precompiled nmt_nfkc, Strip, Replace, Metaspace) on all 500 prompts.
    func testUnigramMatchesHFOnAll500Prompts() throws {
        let tok = try SentencePieceTokenizer(directory: TextFixtures.path("umt5-tiny/tokenizer"))
        let fixture = try TextFixtures.json("unigram.json")
        let expected = fixture["variants"]?["t5converter"]?["prompt_ids"]?.array ?? []
        try assertSameIDsOnEveryPrompt("Unigram", expected: expected, encode: { tok.encode($0) })
    }

    /// Edge cases and 200 seeded random multi-script strings on three serialisations: as written now, with byte fallback,
    /// and the older one Wan2.1's umt5 files use (Metaspace add_prefix_space, no Strip).
    func testUnigramVariantsEdgeCases() throws {
        let fixture = try TextFixtures.json("unigram.json")
        let original = try String(contentsOfFile: TextFixtures.path("umt5-tiny/tokenizer/tokenizer.json"), encoding: .utf8)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("reel-unigram-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for (name, variant) in fixture["variants"]?.object ?? [:] {
            var text = original
            for edit in variant["edits"]?.array ?? [] {
                let old = edit.array![0].string!, new = edit.array![1].string!
                XCTAssertTrue(text.contains(old), "\(name): edit target missing")
                text = text.replacingOccurrences(of: old, with: new)
            }
            let path = tmp.appendingPathComponent("\(name).json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let tok = try SentencePieceTokenizer(tokenizerJSON: path)
            XCTAssertGreaterThan(variant["edge_cases"]?.array?.count ?? 0, 200)
            for c in variant["edge_cases"]?.array ?? [] {
                let s = TextFixtures.text(c)
                XCTAssertEqual(tok.encode(s), TextFixtures.ids(c["ids"]), "\(name): \(s.debugDescription)")
            }
        }
    }

    func testUnigramTruncationKeepsEOS() throws {
        let tok = try SentencePieceTokenizer(directory: TextFixtures.path("umt5-tiny/tokenizer"))
        let long = try TextFixtures.prompts().prefix(6).joined(separator: " ")
        let full = tok.encode(long)
        XCTAssertGreaterThan(full.count, 512)
        let cut = tok.encode(long, maxLength: 512)
        XCTAssertEqual(cut.count, 512)
        XCTAssertEqual(Array(cut.prefix(511)), Array(full.prefix(511)))
        XCTAssertEqual(cut.last, tok.eosId)
    }

    func testTokenizerErrorsNameTheFile() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("reel-tok-errors-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        XCTAssertThrowsError(try WordPieceTokenizer(directory: tmp.path)) { e in
            XCTAssertTrue("\(e)".contains("vocab.txt"), "\(e)")
        }
        XCTAssertThrowsError(try SentencePieceTokenizer(directory: tmp.path)) { e in
            XCTAssertTrue("\(e)".contains("tokenizer.json"), "\(e)")
        }
        try "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}".write(toFile: tmp.path + "/tokenizer.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SentencePieceTokenizer(directory: tmp.path)) { e in
            XCTAssertTrue("\(e)".contains("BPE"), "\(e)")
        }
        try "{\"model\": ".write(toFile: tmp.path + "/tokenizer.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SentencePieceTokenizer(directory: tmp.path)) { e in
            XCTAssertTrue("\(e)".contains("tokenizer.json"), "\(e)")
        }
        try FileManager.default.removeItem(atPath: tmp.path + "/tokenizer.json")
        try "[PAD]\nhello\n".write(toFile: tmp.path + "/vocab.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WordPieceTokenizer(directory: tmp.path)) { e in
            XCTAssertTrue("\(e)".contains("[UNK]"), "\(e)")
        }
    }

    /// Token ids equal HF's on every Movie Gen Video Bench prompt; prints the counts, shows the first mismatches.
    func assertSameIDsOnEveryPrompt(_ name: String, expected: [JSONTree], encode: (String) -> [Int],
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let prompts = try TextFixtures.prompts()
        XCTAssertEqual(expected.count, prompts.count, file: file, line: line)
        var mismatches = 0, tokens = 0
        for (prompt, ids) in zip(prompts, expected) {
            let got = encode(prompt)
            tokens += got.count
            if got != TextFixtures.ids(ids) {
                mismatches += 1
                if mismatches <= 3 { XCTFail("\(prompt)\n got \(got)\nwant \(TextFixtures.ids(ids))", file: file, line: line) }
            }
        }
        print("\(name): \(prompts.count) prompts, \(tokens) tokens, \(mismatches) mismatches")
        XCTAssertEqual(mismatches, 0, file: file, line: line)
    }
}
