import Testing
@testable import KumoEvents

@Suite struct JSONTests {
    @Test func parsesScalarsAndKeepsNumberText() throws {
        #expect(try JSON.parse("null") == .null)
        #expect(try JSON.parse(" true ") == .bool(true))
        let n = try JSON.parse("3.018e2")
        guard case .number(let v, let text) = n else { Issue.record("not a number"); return }
        #expect(v == 301.8 && text == "3.018e2")
        #expect(try JSON.parse("-0").compactText == "-0")
        #expect(try JSON.parse("[1.50, -2E+3]").compactText == "[1.50,-2E+3]")
    }

    @Test func objectsKeepKeyOrder() throws {
        let json = try JSON.parse(#"{ "b": 1, "a": [true, null, {"c": "d"}] }"#)
        #expect(json.compactText == #"{"b":1,"a":[true,null,{"c":"d"}]}"#)
        #expect(json["a"] == .array([.bool(true), .null, .object([(key: "c", value: .string("d"))])]))
    }

    @Test(arguments: [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{c}\n\r\t"),
        (#""\u00e9\u4e2d""#, "é中"),
        (#""\ud83d\ude00""#, "😀"),
        (#""é😀 raw""#, "é😀 raw"),
    ])
    func decodesEscapes(text: String, expected: String) throws {
        #expect(try JSON.parse(text) == .string(expected))
    }

    @Test func serializesMinimalEscapes() {
        #expect(JSON.string("a\"b\\c\n\u{1}/é").compactText == #""a\"b\\c\n\u0001/é""#)
    }

    @Test(arguments: [
        "", "[", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", "1e", ".5", "+1", "tru", "nul", "\"abc",
        "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\u{1}\"", "[1] 2", "{} x", "'a'", "NaN",
    ])
    func rejectsInvalidText(text: String) {
        #expect(throws: JSONError.self) { try JSON.parse(text) }
    }

    @Test(arguments: [
        [0x22, 0xC3, 0x22] as [UInt8],  // truncated sequence
        [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0xFF, 0x22],
        [0x22, 0x80, 0x22],  // lone continuation byte
    ])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONError.self) { try JSON.parse(bytes) }
    }

    @Test func refusesDepthBombsWithoutCrashing() throws {
        let bomb = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        let error = #expect(throws: JSONError.self) { try JSON.parse(bomb) }
        #expect(error?.message.contains("nesting") == true)
        let objects = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONError.self) { try JSON.parse(objects) }
        let fine = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        #expect(try JSON.parse(fine).compactText == fine)
        let tooDeep = "[" + fine + "]"
        #expect(throws: JSONError.self) { try JSON.parse(tooDeep) }
    }

    @Test func hugeNumbersKeepTheirText() throws {
        let text = "123456789012345678901234567890"
        guard case .number(let v, let t) = try JSON.parse(text) else { Issue.record("not a number"); return }
        #expect(t == text && v == 1.2345678901234568e29)
        guard case .number(let inf, let t2) = try JSON.parse("1e400") else { Issue.record("not a number"); return }
        #expect(inf == .infinity && t2 == "1e400")
        #expect(try JSON.parse("[1.0]") == JSON.parse("[1]"))
    }

    @Test func errorsNameTheOffset() {
        let error = #expect(throws: JSONError.self) { try JSON.parse("[1, 2] x") }
        #expect(error?.offset == 7)
        #expect(error?.description == "invalid JSON at byte 7: unexpected data after the JSON value")
    }

    @Test func roundTripsThroughCompactText() throws {
        let text = #"{"a":[1,2.5e-3,"x\u0000y",{"b":null}],"c":false,"é":"\\"}"#
        #expect(try JSON.parse(text).compactText == text)
    }
}
