// docs/protocol.md carries the reference generated from the method table;
// this test fails when they drift (regenerate with `reeld --print-protocol-doc`).
import Foundation
import ReelProtocol
import XCTest

final class ProtocolDocTests: XCTestCase {
    func testDocsMatchTheMethodTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        guard let start = doc.range(of: ProtocolReference.beginMarker), let end = doc.range(of: ProtocolReference.endMarker) else {
            return XCTFail("docs/protocol.md lacks the generated section markers")
        }
        let current = String(doc[start.lowerBound..<end.upperBound])
        XCTAssertEqual(current, ProtocolReference.markdown(),
                       "docs/protocol.md is out of date: paste the output of `reeld --print-protocol-doc` between the markers")
    }

    func testOpenRPCHasEveryMethod() {
        let doc = OpenRPC.document(version: "x")
        let names = doc["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        XCTAssertEqual(names, Methods.all.map(\.name))
        for m in doc["methods"]!.arrayValue! {
            XCTAssertNotNil(m["result"]?["schema"], "\(m["name"]!)")
        }
    }
}
