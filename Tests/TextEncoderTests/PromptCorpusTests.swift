import Foundation
import ReelEngine
import XCTest
@testable import ReelModels

/// Every one of the 500 real prompts (Movie Gen Video Bench, CC BY-NC 4.0)
/// tokenizes and encodes through both encoders; long ones are truncated to the
/// encoder's max sequence length and still end with their end token.
final class PromptCorpusTests: XCTestCase {
    func testAll500PromptsThroughMiniLM() throws {
        let prompts = try TextFixtures.prompts()
        let encoder = try loadTextEncoder(modelDirectory: try TextFixtures.miniLMDirectory()) as! BertTextEncoder
        let e = try encoder.embed(prompts)
        XCTAssertEqual(e.hidden.shape, [500, 48, 384])
        try checkCorpus(e, endToken: encoder.tokenizer.sepId, max: 48)
        print("MiniLM: 500 prompts, \(e.truncated.filter { $0 }.count) truncated at 48 tokens")
    }

    func testAll500PromptsThroughUMT5() throws {
        let prompts = try TextFixtures.prompts()
        let encoder = try loadTextEncoder(modelDirectory: TextFixtures.path("umt5-tiny")) as! UMT5TextEncoder
        let e = try encoder.embed(prompts)
        XCTAssertEqual(e.hidden.shape, [500, 512, 32])
        try checkCorpus(e, endToken: encoder.tokenizer.eosId!, max: 512)
        // Truncation: the six first prompts joined are longer than 512 tokens.
        let long = try encoder.embed([prompts.prefix(6).joined(separator: " ")])
        XCTAssertEqual(long.lengths, [512])
        XCTAssertEqual(long.truncated, [true])
        XCTAssertEqual(long.tokenIds[0].last, encoder.tokenizer.eosId)
    }

    func checkCorpus(_ e: TextEmbedding, endToken: Int, max: Int) throws {
        let values = e.hidden.toArray()
        XCTAssertTrue(values.allSatisfy { $0.isFinite }, "non-finite embeddings")
        let (l, d) = (e.hidden.shape[1], e.hidden.shape[2])
        for (i, ids) in e.tokenIds.enumerated() {
            XCTAssertGreaterThan(ids.count, 2)
            XCTAssertLessThanOrEqual(ids.count, max)
            XCTAssertEqual(ids.last, endToken)
            XCTAssertEqual(e.lengths[i], ids.count)
            // Real rows are non-zero, padding rows zero.
            let row = { (t: Int) in values[(i * l + t) * d..<(i * l + t + 1) * d] }
            XCTAssertTrue(row(ids.count - 1).contains { $0 != 0 })
            if ids.count < l { XCTAssertTrue(row(ids.count).allSatisfy { $0 == 0 }) }
        }
    }

    func testMemoryEstimates() throws {
        // MiniLM: every weight resident as fp32 (22.7 M parameters, position_ids included).
        let minilm = try estimateTextEncoderBytes(modelDirectory: TextFixtures.repositoryRoot.appendingPathComponent("models/reel-t2v-default").path)
        XCTAssertEqual(Double(minilm) / 4e6, 22.7, accuracy: 0.1)
        // Tiny UMT5: resident = everything; streamed = one block + final norm, the embedding stays in the file (fp32 here).
        var options = TextEncoderOptions()
        options.streamWeights = false
        let all = try estimateTextEncoderBytes(modelDirectory: TextFixtures.path("umt5-tiny"), options: options)
        XCTAssertEqual(all, 4 * 66080)
        options.streamWeights = true
        let streamed = try estimateTextEncoderBytes(modelDirectory: TextFixtures.path("umt5-tiny"), options: options)
        XCTAssertEqual(streamed, 4 * (1508 * 32 + (66080 - 1508 * 32 - 32) / 2 + 32))
    }

    func testLoaderErrors() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("reel-loader-\(getpid())")
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("text_encoder"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        XCTAssertThrowsError(try loadTextEncoder(modelDirectory: tmp.path + "/missing")) { XCTAssertTrue("\($0)".contains("no such")) }
        XCTAssertThrowsError(try loadTextEncoder(modelDirectory: tmp.path)) { XCTAssertTrue("\($0)".contains("no text encoder"), "\($0)") }
        // The default model's pointer to a text encoder that was never fetched.
        let pointer = """
        {"format": "reel-text-encoder/1", "architecture": "bert", "name": "all-MiniLM-L6-v2",
         "fetch": "tools/fetch_minilm.sh", "store_dir": "all-minilm-l6-v2", "embedding": {"max_sequence_length": 48}}
        """
        try pointer.write(toFile: tmp.path + "/text_encoder/reel_text_encoder.json", atomically: true, encoding: .utf8)
        var options = TextEncoderOptions()
        options.store = ModelStore(root: tmp.appendingPathComponent("empty-store"))
        XCTAssertThrowsError(try loadTextEncoder(modelDirectory: tmp.path, options: options)) {
            XCTAssertTrue("\($0)".contains("tools/fetch_minilm.sh"), "\($0)")
        }
        // …and resolved when the store has it.
        options.store = ModelStore(root: URL(fileURLWithPath: try TextFixtures.miniLMDirectory()).deletingLastPathComponent())
        let encoder = try loadTextEncoder(modelDirectory: tmp.path, options: options)
        XCTAssertEqual(encoder.maxSequenceLength, 48)
        XCTAssertEqual(try encoder.encode(["a red ball"]).shape, [1, 48, 384])
        // A UMT5 config whose weights do not fit.
        try FileManager.default.removeItem(atPath: tmp.path + "/text_encoder/reel_text_encoder.json")
        let config = try String(contentsOfFile: TextFixtures.path("umt5-tiny/text_encoder/config.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"d_ff\": 48", with: "\"d_ff\": 64")
        try config.write(toFile: tmp.path + "/text_encoder/config.json", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: TextFixtures.path("umt5-tiny/text_encoder/model.safetensors"),
                                         toPath: tmp.path + "/text_encoder/model.safetensors")
        XCTAssertThrowsError(try loadTextEncoder(modelDirectory: tmp.path)) { XCTAssertTrue("\($0)".contains("wi_0"), "\($0)") }
        XCTAssertThrowsError(try BertTextEncoder(directory: TextFixtures.path("bert-tiny"), maxSequenceLength: 8)) {
            XCTAssertTrue("\($0)".contains("vocab.txt"), "\($0)")
        }
    }
}
