import ReelProtocol
import XCTest

final class RPCTests: XCTestCase {
    func decode(_ s: String) -> RPCIncoming { RPCIncoming.decode(try! JSON.parse(s)) }

    func testRequestAndNotification() {
        guard case .single(.success(let r)) = decode(#"{"jsonrpc":"2.0","id":"x","method":"m","params":[1]}"#) else { return XCTFail() }
        XCTAssertEqual(r.id, .string("x"))
        XCTAssertEqual(r.params, [1])
        guard case .single(.success(let n)) = decode(#"{"jsonrpc":"2.0","method":"m"}"#) else { return XCTFail() }
        XCTAssertTrue(n.isNotification)
        guard case .single(.success(let nullID)) = decode(#"{"jsonrpc":"2.0","method":"m","id":null}"#) else { return XCTFail() }
        XCTAssertEqual(nullID.id, .null, "id null is a request, not a notification")
    }

    func testInvalidRequestsKeepTheirID() {
        guard case .single(.failure(let e)) = decode(#"{"jsonrpc":"2.0","id":7,"method":1}"#) else { return XCTFail() }
        XCTAssertEqual(e.id, .int(7))
        XCTAssertEqual(e.error.code, .invalidRequest)
        XCTAssertEqual(e.error.data?["field"], "method")
    }

    func testBatch() {
        guard case .batch(let items) = decode(#"[{"jsonrpc":"2.0","id":1,"method":"a"},1]"#) else { return XCTFail() }
        XCTAssertEqual(items.count, 2)
        if case .failure = items[1] {} else { XCTFail() }
        guard case .single(.failure(let e)) = decode("[]") else { return XCTFail() }
        XCTAssertEqual(e.error.code, .invalidRequest)
    }

    func testResponsesAndServerMessages() throws {
        let ok = RPCResponse(id: .int(1), result: ["a": 1])
        XCTAssertEqual(RPCServerMessage.decode(ok.json), .response(ok))
        let bad = RPCResponse(id: .null, error: RPCError(.queueFull, "full", data: ["capacity": 3]))
        XCTAssertEqual(RPCServerMessage.decode(try JSON.parse(bad.json.serialized())), .response(bad))
        let n = RPCNotification(method: "job.progress", params: ["step": 1])
        XCTAssertEqual(RPCServerMessage.decode(n.json), .notification(n))
    }

    func testErrorCodesAreDistinctAndDocumented() {
        let codes = RPCErrorCode.catalogue.map(\.code.rawValue)
        XCTAssertEqual(Set(codes).count, codes.count)
        let standard = [-32700, -32600, -32601, -32602, -32603]
        for c in codes where !standard.contains(c) {
            XCTAssertTrue((-32099)...(-32000) ~= c, "application code \(c) must be in the server-error range")
        }
    }

    func testSocketPath() {
        XCTAssertEqual(SocketPath.resolve(environment: ["REEL_SOCKET": "/x.sock", "XDG_RUNTIME_DIR": "/run/user/1"]), "/x.sock")
        XCTAssertEqual(SocketPath.resolve(environment: ["XDG_RUNTIME_DIR": "/run/user/1"]), "/run/user/1/reel/reel.sock")
        XCTAssertEqual(SocketPath.resolve(environment: [:]), "/run/reel/reel.sock")
    }
}
