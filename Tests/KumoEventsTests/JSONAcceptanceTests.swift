import Testing
@testable import KumoEvents

/// What the transformer takes for JSON (constants, templates): exactly what the parser accepts.
@Suite struct JSONAcceptanceTests {
    @Test func acceptsJSON() {
        for text in [#"{"a": 1}"#, "[]", #"[0, -1.5e3, 2E+2, "x\u00e9\n", true, null]"#, #"  {"nested": {"a": [1, {"b": "c"}]}}  "#] {
            #expect((try? JSON.parse(text)) != nil, "\(text)")
        }
    }

    @Test func refusesWhatIsNotJSON() {
        for text in [#"{"a": +1}"#, "[01]", "[.5]", "[1.]", #""\x""#, #""\u12""#, "{a: 1}", "[1,]", "", "[1] x", "1e"] {
            #expect((try? JSON.parse(text)) == nil, "\(text)")
        }
    }
}
