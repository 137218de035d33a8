import Foundation
@testable import KumoRuntime
import NIOHTTP1
import Testing

/// How a handler's result becomes an HTTP response (API Gateway payload format 2.0).
struct GatewayMappingTests {
    func mapped(_ json: String) -> LoopResponse {
        Gateway.response(from: Array(json.utf8), requestID: "r-1")
    }

    @Test func aStatusCodeObjectIsAResponse() {
        let response = mapped(#"{"statusCode": 201, "headers": {"X-Kind": "a", "X-Count": 2}, "multiValueHeaders": {"X-Many": ["1", "2"]}, "cookies": ["a=1", "b=2"], "body": "made"}"#)
        #expect(response.status.code == 201)
        #expect(response.headers["X-Kind"] == ["a"])
        #expect(response.headers["X-Count"] == ["2"])
        #expect(response.headers["X-Many"] == ["1", "2"])
        #expect(response.headers["Set-Cookie"] == ["a=1", "b=2"])
        #expect(response.headers["apigw-requestid"] == ["r-1"])
        #expect(response.headers["Content-Type"] == ["application/json"])
        #expect(String(decoding: response.body, as: UTF8.self) == "made")
    }

    @Test func base64BodiesAreDecodedAndOtherValuesAre200JSON() {
        let binary = mapped(#"{"statusCode": 200, "isBase64Encoded": true, "body": "AAEC/w==", "headers": {"content-type": "application/octet-stream"}}"#)
        #expect(binary.body == [0, 1, 2, 255])
        #expect(binary.headers["Content-Type"] == ["application/octet-stream"])
        let plain = mapped(#"{"hello": "world"}"#)
        #expect(plain.status == .ok)
        #expect(String(decoding: plain.body, as: UTF8.self) == #"{"hello": "world"}"#)
        for status in [42, 100, 101, 600] {
            #expect(mapped(#"{"statusCode": \#(status), "body": "x"}"#).status == .internalServerError, "status \(status) cannot be sent")
        }
        let noContent = mapped(#"{"statusCode": 204, "body": {"ignored": true}}"#)
        #expect(noContent.status == .noContent)
        #expect(noContent.body.isEmpty, "a 204 has no body")
    }

    /// A handler cannot split the response: names that are not tokens and values with line
    /// breaks are dropped.
    @Test func headersThatWouldBreakTheResponseAreDropped() {
        var dropped: [String] = []
        let response = Gateway.response(from: Array(#"{"statusCode": 200, "headers": {"X-Ok": "yes", "X-Evil": "a\r\nSet-Cookie: stolen=1", "Bad Name": "x", "X-Nul": "a\u0000b", "X-Ctl": "a\u0001b", "X-Del": "a\u007fb", "X-Tab": "a\tb"}, "cookies": ["c=1\r\nX-Injected: 1", "d=\u001b"], "body": ""}"#.utf8), requestID: "r-1") { dropped.append($0) }
        #expect(response.headers["X-Ctl"].isEmpty && response.headers["X-Del"].isEmpty)
        #expect(response.headers["X-Tab"] == ["a\tb"])
        #expect(dropped.sorted() == ["Bad Name", "Set-Cookie", "Set-Cookie", "X-Ctl", "X-Del", "X-Evil", "X-Nul"])
        #expect(response.headers["X-Ok"] == ["yes"])
        #expect(response.headers["X-Evil"].isEmpty)
        #expect(response.headers["Bad Name"].isEmpty)
        #expect(response.headers["X-Nul"].isEmpty)
        #expect(response.headers["Set-Cookie"].isEmpty)
        #expect(response.headers["X-Injected"].isEmpty)
    }
}
