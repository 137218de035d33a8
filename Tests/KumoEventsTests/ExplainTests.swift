import Testing
@testable import KumoEvents

@Suite struct ExplainTests {
    func explain(_ pattern: String, _ event: String) throws -> Mismatch? {
        try Pattern(text: pattern).explain(JSON.parse(event))
    }

    @Test func nilWhenTheEventMatches() throws {
        #expect(try explain(#"{"source":["aws.ec2"]}"#, readmeEvent) == nil)
    }

    @Test func namesTheFirstFailingFieldInPatternOrder() throws {
        let m = try explain(#"{"source":["aws.ec2"],"detail":{"state":["running"],"c-count":[{"numeric":[">",100]}],"d-count":[9]}}"#, readmeEvent)
        #expect(m == Mismatch(path: "detail.c-count", expected: #"[{"numeric":[">",100]}]"#, actual: "5"))
        #expect(m?.description == #"detail.c-count: the pattern wants [{"numeric":[">",100]}], the event has 5"#)
    }

    @Test func missingFieldsHaveNoActualValue() throws {
        let m = try explain(#"{"detail":{"coupon":[{"exists":true}]}}"#, readmeEvent)
        #expect(m == Mismatch(path: "detail.coupon", expected: #"[{"exists":true}]"#, actual: nil))
        #expect(m?.description.hasSuffix("the event has no such field") == true)
        let parent = try explain(#"{"extra":{"x":["y"]}}"#, readmeEvent)
        #expect(parent == Mismatch(path: "extra.x", expected: #"["y"]"#, actual: nil))
    }

    @Test func objectValuesAreShownAsJSON() throws {
        let m = try explain(#"{"detail":["x"]}"#, #"{"detail":{"a":[1,"b"]}}"#)
        #expect(m?.actual == #"{"a":[1,"b"]}"#)
    }

    @Test func listElementsReportTheOneThatGotFurthest() throws {
        let event = #"{"items":[{"sku":"a","qty":1},{"sku":"b","qty":1}]}"#
        let m = try explain(#"{"items":{"sku":["b"],"qty":[{"numeric":[">",5]}]}}"#, event)
        #expect(m == Mismatch(path: "items[1].qty", expected: #"[{"numeric":[">",5]}]"#, actual: "1"))
    }

    @Test func orReportsTheAlternativeThatGotFurthest() throws {
        let pattern = #"{"$or":[{"a":["1"]},{"b":["2"],"c":["3"]}]}"#
        #expect(try explain(pattern, #"{"b":"2","c":"4"}"#) == Mismatch(path: "c", expected: #"["3"]"#, actual: #""4""#))
        // Ties go to the first alternative.
        #expect(try explain(pattern, #"{}"#) == Mismatch(path: "a", expected: #"["1"]"#, actual: nil))
    }

    @Test func explainAgreesWithMatches() throws {
        var generator = PatternGenerator(seed: 7)
        for _ in 0..<500 {
            let pattern = try Pattern(json: generator.pattern())
            let event = generator.event()
            #expect((pattern.explain(event) == nil) == pattern.matches(event), "\(pattern.source.compactText) ~ \(event.compactText)")
        }
    }
}
