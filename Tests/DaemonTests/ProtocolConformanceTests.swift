// JSON-RPC 2.0 conformance and every protocol-level error path, against the
// real daemon over its socket.
import Foundation
import ReelProtocol
import ReelTestSupport
import XCTest

final class ProtocolConformanceTests: XCTestCase {
    var d: DaemonProcess!
    var c: RPCClient!

    override func setUpWithError() throws {
        d = try startDaemon(settings: ["max_message_bytes": "65536"])
        c = try d.client()
    }

    func testInfoDescribesTheDaemon() throws {
        let info = try c.result("reel.info")
        XCTAssertEqual(info["abi_version"], 1)
        XCTAssertEqual(info["protocol_version"]?.stringValue, Methods.protocolVersion)
        XCTAssertEqual(info["socket"]?.stringValue, d.socket)
        let stages = info["plugins"]?.arrayValue?.flatMap { $0["stages"]?.arrayValue ?? [] }.compactMap(\.stringValue) ?? []
        XCTAssertEqual(Set(stages), ["fixture.render", "echo.run"])
        XCTAssertEqual(info["queue"]?["capacity"], 64)
        XCTAssertEqual(info["peer"]?["pid"]?.intValue, Int64(getpid()))
    }

    func testDiscoverListsEveryMethodOfTheTableAndTheStages() throws {
        let doc = try c.result("rpc.discover")
        XCTAssertEqual(doc["openrpc"], "1.2.6")
        let names = doc["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        XCTAssertEqual(names, Methods.all.map(\.name) + ["echo.run", "fixture.render"])
        let render = doc["methods"]?.arrayValue?.first { $0["name"] == "fixture.render" }
        let params = render?["params"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        XCTAssertTrue(params.contains("output") && params.contains("model") && params.contains("keep_alive"))
    }

    func testEveryTableMethodIsServed() throws {
        // Each method answers something other than "method not found".
        for m in Methods.all {
            let r = try c.call(m.name, m.params.contains { $0.required } ? ["id": "nope", "model": "nope", "method": "nope"] : nil)
            if case .failure(let e) = r.outcome {
                XCTAssertFalse(e.code == .methodNotFound && e.data?["method"]?.stringValue == m.name, "\(m.name): \(e)")
            }
        }
    }

    func testUnknownMethod() throws {
        let e = try c.error("video.nonexistent")
        XCTAssertEqual(e.code, .methodNotFound)
        XCTAssertEqual(e.data?["method"], "video.nonexistent")
    }

    func testParseErrorAnswersWithNullIDAndKeepsTheConnection() throws {
        try c.sendLine("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ")
        let m = try c.readMessage()
        XCTAssertEqual(m["id"], .null)
        XCTAssertEqual(m["error"]?["code"]?.intValue, -32700)
        XCTAssertNotNil(try c.result("reel.info"))
    }

    func testInvalidRequests() throws {
        let cases: [(String, String)] = [
            (#"{"id":1,"method":"reel.info"}"#, "jsonrpc"),
            (#"{"jsonrpc":"1.0","id":1,"method":"reel.info"}"#, "jsonrpc"),
            (#"{"jsonrpc":"2.0","id":1,"method":5}"#, "method"),
            (#"{"jsonrpc":"2.0","id":1,"method":"reel.info","params":"x"}"#, "params"),
            (#"{"jsonrpc":"2.0","id":{"a":1},"method":"reel.info"}"#, "id"),
            (#"{"jsonrpc":"2.0","id":1,"method":"reel.info","extra":1}"#, "extra"),
            (#"42"#, ""),
            (#"[]"#, ""),
        ]
        for (line, field) in cases {
            try c.sendLine(line)
            let m = try c.readMessage()
            XCTAssertEqual(m["error"]?["code"]?.intValue, -32600, line)
            XCTAssertEqual(m["error"]?["data"]?["field"]?.stringValue, field, line)
        }
        // The id is echoed when it could be read.
        try c.sendLine(#"{"jsonrpc":"2.0","id":"abc","method":7}"#)
        XCTAssertEqual(try c.readMessage()["id"], "abc")
    }

    func testInvalidParamsNameTheField() throws {
        var e = try c.error("job.get", ["id": 5])
        XCTAssertEqual(e.code, .invalidParams)
        XCTAssertEqual(e.data?["field"], "/id")
        e = try c.error("job.get", [:])
        XCTAssertEqual(e.data?["field"], "/id")
        XCTAssertEqual(e.data?["reason"], "required field is missing")
        e = try c.error("job.list", ["limit": 0])
        XCTAssertEqual(e.data?["field"], "/limit")
        e = try c.error("job.list", ["bogus": 1])
        XCTAssertEqual(e.data?["field"], "/bogus")
        e = try c.error("job.submit", ["method": "fixture.render", "params": ["output": "/tmp/x", "frames": "many"]])
        XCTAssertEqual(e.data?["field"], "/params/frames")
        e = try c.error("fixture.render", ["output": "/tmp/x", "width": 0])
        XCTAssertEqual(e.data?["field"], "/width")
        e = try c.error("fixture.render", ["frames": 2])
        XCTAssertEqual(e.data?["field"], "/output")
        e = try c.error("fixture.render", ["output": "/tmp/x", "keep_alive": true])
        XCTAssertEqual(e.data?["field"], "/keep_alive")
        e = try c.error("fixture.render", ["output": "/tmp/x", "keep_alive": "soon"])
        XCTAssertEqual(e.data?["field"], "/keep_alive")
    }

    func testPositionalParams() throws {
        let e = try c.error("job.get", ["no-such-job"])
        XCTAssertEqual(e.code, .jobNotFound)
        let tooMany = try c.error("job.get", ["a", 1, 2])
        XCTAssertEqual(tooMany.code, .invalidParams)
    }

    func testBatchAnswersEveryRequestButNoNotification() throws {
        try c.sendLine(#"""
            [{"jsonrpc":"2.0","id":1,"method":"reel.info"},
             {"jsonrpc":"2.0","method":"reel.info"},
             {"jsonrpc":"2.0","id":2,"method":"nope"},
             {"foo":"bar"},
             {"jsonrpc":"2.0","id":3,"method":"job.get","params":{"id":"x"}}]
            """#.replacingOccurrences(of: "\n", with: ""))
        let m = try c.readMessage()
        let items = try XCTUnwrap(m.arrayValue)
        XCTAssertEqual(items.count, 4)
        var byID: [String: JSON] = [:]
        for i in items { byID[i["id"]!.description] = i }
        XCTAssertNotNil(byID["1"]?["result"])
        XCTAssertEqual(byID["2"]?["error"]?["code"], -32601)
        XCTAssertEqual(byID["null"]?["error"]?["code"], -32600)
        XCTAssertEqual(byID["3"]?["error"]?["code"], -32002)
    }

    func testNotificationsGetNoAnswerEvenWhenWrong() throws {
        try c.sendNotification("reel.info")
        try c.sendNotification("no.such.method")
        try c.sendNotification("job.get", ["id": 5])
        try c.sendLine(#"[{"jsonrpc":"2.0","method":"reel.info"},{"jsonrpc":"2.0","method":"x"}]"#)
        // The next message must be the answer to this request.
        let r = try c.call("job.list", ["limit": 1])
        XCTAssertEqual(r.id, .int(1))
    }

    func testInvalidUTF8IsAParseError() throws {
        try c.sendRaw(Array(#"{"jsonrpc":"2.0","id":1,"method":"reel.info","params":{"x":""#.utf8) + [0xC3, 0x28, 0xFF] + Array("\"}}\n".utf8))
        let m = try c.readMessage()
        XCTAssertEqual(m["error"]?["code"], -32700)
        XCTAssertTrue(m["error"]?["message"]?.stringValue?.contains("UTF-8") ?? false, "\(m)")
        XCTAssertNotNil(try c.result("reel.info"))
    }

    func testDeeplyNestedMessageIsRefusedNotACrash() throws {
        let depth = 30_000 // deeper than jansson's 2048 levels, shorter than the 64 KiB line limit
        try c.sendLine(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        let m = try c.readMessage()
        XCTAssertEqual(m["error"]?["code"], -32700)
        XCTAssertTrue(m["error"]?["message"]?.stringValue?.contains("nested too deeply") ?? false, "\(m)")
        XCTAssertNotNil(try c.result("reel.info"))
    }

    func testOversizedMessageIsDiscardedAndTheConnectionGoesOn() throws {
        let big = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"reel.info\",\"params\":{\"pad\":\"" + String(repeating: "x", count: 200_000) + "\"}}"
        try c.sendLine(big)
        let m = try c.readMessage()
        XCTAssertEqual(m["error"]?["code"], -32008)
        XCTAssertEqual(m["error"]?["data"]?["limit"], 65536)
        // The tail of the long line was thrown away: the next request works.
        XCTAssertNotNil(try c.result("reel.info"))
        // Just under the limit is fine.
        let ok = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"job.list\",\"params\":{\"method\":\"" + String(repeating: "y", count: 60_000) + "\"}}"
        try c.sendLine(ok)
        XCTAssertEqual(try c.readMessage()["id"], 9)
    }

    func testCRLFAndBlankLinesAreTolerated() throws {
        try c.sendRaw(Array("\n\r\n{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"reel.info\"}\r\n".utf8))
        XCTAssertEqual(try c.readMessage()["id"], 7)
    }

    func testAbruptDisconnectMidMessageHarmsNoOne() throws {
        let other = try d.client()
        for _ in 0..<20 {
            let bad = try d.client()
            try bad.sendRaw(Array(#"{"jsonrpc":"2.0","id":1,"method":"job.sub"#.utf8))
        } // closed mid-message
        let half = try d.client()
        try half.sendRaw(Array(#"{"jsonrpc":"2.0","id":1,"meth"#.utf8))
        half.finishSending()
        XCTAssertTrue(half.isClosedByPeer())
        XCTAssertNotNil(try other.result("reel.info"))
        XCTAssertNotNil(try c.result("reel.info"))
        XCTAssertTrue(d.isRunning)
    }

    func testHalfClosedClientStillGetsItsAnswers() throws {
        let s = try d.client()
        try s.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"reel.info"}"#)
        try s.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"model.ps"}"#)
        s.finishSending()
        XCTAssertEqual(try s.readMessage()["id"], 1)
        XCTAssertEqual(try s.readMessage()["id"], 2)
        XCTAssertTrue(s.isClosedByPeer())
    }

    func testFiveHundredConcurrentClients() throws {
        let n = 500
        var clients: [RPCClient] = []
        for _ in 0..<n { clients.append(try d.client()) }
        // All connected at once; each sends, then all read.
        for (i, cl) in clients.enumerated() {
            try cl.sendLine(RPCRequest(id: .int(Int64(i)), method: i % 2 == 0 ? "reel.info" : "job.list", params: nil).json.serialized())
        }
        let failures = NSLock()
        var bad: [String] = []
        DispatchQueue.concurrentPerform(iterations: n) { i in
            do {
                let m = try clients[i].readMessage()
                if m["id"] != .int(Int64(i)) || m["result"] == nil {
                    failures.lock(); bad.append("\(i): \(m)"); failures.unlock()
                }
            } catch {
                failures.lock(); bad.append("\(i): \(error)"); failures.unlock()
            }
        }
        XCTAssertEqual(bad, [])
        XCTAssertEqual(try c.result("reel.info")["version"]?.stringValue?.isEmpty, false)
    }
}
