import Foundation
import ReelEngine
import XCTest
@testable import ReelModels

/// Hidden states against transformers (fixtures from tools/parity/text_fixtures.py):
/// the real all-MiniLM-L6-v2 encoded as the default model's training code does,
/// a tiny random BERT, and a tiny random UMT5EncoderModel encoded as WanPipeline does.
final class EncoderParityTests: XCTestCase {
    /// fp32 through 6 layers: max |Δ| stays near 1e-5 against torch.
    static let tolerance: Float = 2e-4

    func testMiniLMMatchesTransformersAsTrainingEncodes() throws {
        let fixture = try TextFixtures.json("fixtures.json")
        let texts = fixture["minilm"]!["texts"]!.array!.map { $0.string! }
        let lengths = TextFixtures.ids(fixture["minilm"]!["lengths"])
        let encoder = try loadTextEncoder(modelDirectory: try TextFixtures.miniLMDirectory())
        XCTAssertEqual(encoder.maxSequenceLength, 48)
        XCTAssertEqual(encoder.dim, 384)
        let e = try encoder.embed(texts)
        XCTAssertEqual(e.hidden.shape, [texts.count, 48, 384])
        XCTAssertEqual(e.lengths, lengths)
        let expected = try TextFixtures.tensors("minilm.safetensors")
        for (i, n) in lengths.enumerated() {
            let want = try expected.tensor("hidden.\(i)")
            let got = try e.hidden.select(0, i).slice(0, 0, n)
            let d = maxAbsDifference(got, want)
            print("MiniLM prompt \(i) (\(n) tokens): max |Δ| \(d)")
            XCTAssertLessThan(d, Self.tolerance)
            XCTAssertEqual(maxAbs(try e.hidden.select(0, i).slice(0, n, 48)), 0, "rows after the tokens are zero")
        }
        XCTAssertEqual(e.truncated, lengths.map { $0 == 48 })
    }

    /// The committed default model points at the fetched MiniLM; its encoder is the one the fixtures checked.
    func testDefaultModelDirectoryLoadsMiniLM() throws {
        _ = try TextFixtures.miniLMDirectory()
        let dir = TextFixtures.repositoryRoot.appendingPathComponent("models/reel-t2v-default").path
        let encoder = try loadTextEncoder(modelDirectory: dir)
        XCTAssertTrue(encoder is BertTextEncoder, encoder.name)
        XCTAssertEqual(encoder.maxSequenceLength, 48)
        XCTAssertEqual(encoder.dim, 384)
        let h = try encoder.encode(["a red ball bouncing on green grass"])
        let want = try TextFixtures.tensors("minilm.safetensors").tensor("hidden.0")
        XCTAssertLessThan(maxAbsDifference(try h.select(0, 0).slice(0, 0, want.shape[0]), want), Self.tolerance)
    }

    func testTinyBertMatchesTransformers() throws {
        let model = try BertModel(directory: TextFixtures.path("bert-tiny"))
        let t = try TextFixtures.tensors("bert-tiny.safetensors")
        let idsT = try t.tensor("input_ids"), maskT = try t.tensor("attention_mask")
        let (b, l) = (idsT.shape[0], idsT.shape[1])
        var ids: [[Int]] = []
        for i in 0..<b {
            let n = (0..<l).filter { maskT[i, $0] > 0 }.count
            ids.append((0..<n).map { Int(idsT[i, $0]) })
        }
        let got = try model(ids, length: l)
        let want = try t.tensor("hidden")
        for (i, row) in ids.enumerated() {
            let d = maxAbsDifference(try got.select(0, i).slice(0, 0, row.count), try want.select(0, i).slice(0, 0, row.count))
            print("tiny BERT row \(i): max |Δ| \(d)")
            XCTAssertLessThan(d, 1e-5)
        }
    }

    func testUMT5BucketsMatchTransformers() throws {
        let table = try TextFixtures.tensors("umt5-tiny.safetensors").tensor("buckets_32_128")
        let n = (table.count + 1) / 2
        for i in 0..<table.count {
            let r = i - (n - 1)
            XCTAssertEqual(t5RelativePositionBucket(r, buckets: 32, maxDistance: 128), Int(table[i]), "relative position \(r)")
        }
    }

    func testTinyUMT5MatchesTransformersAsWanPipelineEncodes() throws {
        let fixture = try TextFixtures.json("fixtures.json")
        let texts = fixture["umt5"]!["texts"]!.array!.map { $0.string! }
        let lengths = TextFixtures.ids(fixture["umt5"]!["lengths"])
        let t = try TextFixtures.tensors("umt5-tiny.safetensors")
        for streaming in [false, true] {
            var options = TextEncoderOptions()
            options.streamWeights = streaming
            let encoder = try loadTextEncoder(modelDirectory: TextFixtures.path("umt5-tiny"), options: options)
            XCTAssertEqual(encoder.maxSequenceLength, 512)
            let e = try encoder.embed(texts)
            XCTAssertEqual(e.lengths, lengths)
            XCTAssertEqual(e.hidden.shape, [texts.count, 512, 32])
            for (i, n) in lengths.enumerated() {
                XCTAssertEqual(e.tokenIds[i], try t.tensor("input_ids.\(i)").toArray().map { Int($0) }, "ids of prompt \(i)")
                let d = maxAbsDifference(try e.hidden.select(0, i).slice(0, 0, n), try t.tensor("hidden.\(i)"))
                print("UMT5 \(streaming ? "streamed" : "resident") prompt \(i) (\(n) tokens): max |Δ| \(d)")
                XCTAssertLessThan(d, Self.tolerance)
                if n < 512 { XCTAssertEqual(maxAbs(try e.hidden.select(0, i).slice(0, n, 512)), 0) }
            }
            XCTAssertEqual(e.truncated, lengths.map { $0 == 512 })
        }
    }

    /// Wan2.1 ships its text encoder in bf16, sharded: the same tiny model saved that way (embedding rows read
    /// straight from the bf16 shard), resident and streamed.
    func testTinyUMT5FromBF16Shards() throws {
        let fixture = try TextFixtures.json("fixtures.json")
        let texts = fixture["umt5"]!["texts"]!.array!.map { $0.string! }
        let lengths = TextFixtures.ids(fixture["umt5"]!["lengths"])
        let t = try TextFixtures.tensors("umt5-tiny.safetensors")
        let tokenizer = try SentencePieceTokenizer(directory: TextFixtures.path("umt5-tiny/tokenizer"))
        for streaming in [false, true] {
            let model = try UMT5EncoderModel(directory: TextFixtures.path("umt5-tiny-bf16/text_encoder"), streaming: streaming)
            let e = try UMT5TextEncoder(tokenizer: tokenizer, model: model).embed(texts)
            for (i, n) in lengths.enumerated() {
                let d = maxAbsDifference(try e.hidden.select(0, i).slice(0, 0, n), try t.tensor("hidden_bf16.\(i)"))
                print("UMT5 bf16 shards \(streaming ? "streamed" : "resident") prompt \(i): max |Δ| \(d)")
                XCTAssertLessThan(d, Self.tolerance)
            }
        }
    }

    func testWanPromptCleanAsPipeline() {
        XCTAssertEqual(wanPromptClean("  Café &amp;amp; crème\n\n ﬁne\t "), "Café & crème ﬁne")
        XCTAssertEqual(wanPromptClean("a &#39;b&#x27; &lt;c&gt;"), "a 'b' <c>")
        XCTAssertEqual(wanPromptClean("&unknown; & x"), "&unknown; & x")
        XCTAssertEqual(wanPromptClean(""), "")
    }
}

func maxAbs(_ t: Tensor) -> Float { t.contiguous().toArray().reduce(0) { max($0, abs($1)) } }
