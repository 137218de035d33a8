import Testing
@testable import KumoEvents

/// Random patterns and events over a small vocabulary, so that they often meet.
struct PatternGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }

    mutating func next(_ n: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(n))
    }

    mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }

    let keys = ["a", "b", "c"]
    let strings = ["x", "xy", "yx", "Xy", "10.0.0.1", "10.1.0.1", "", "x*y"]
    let numbers: [Double] = [-1, 0, 1, 2.5, 10]

    mutating func number() -> JSON {
        let n = pick(numbers)
        return .number(n, text: n == n.rounded() ? String(Int(n)) : String(n))
    }

    mutating func scalar() -> JSON {
        switch next(5) {
        case 0, 1: .string(pick(strings))
        case 2: number()
        case 3: .bool(next(2) == 0)
        default: .null
        }
    }

    mutating func condition() -> JSON {
        func op(_ name: String, _ value: JSON) -> JSON { .object([(key: name, value: value)]) }
        switch next(14) {
        case 0, 1, 2: return scalar()
        case 3: return op("prefix", .string(pick(["x", "X", "1"])))
        case 4: return op("suffix", .object([(key: "equals-ignore-case", value: .string(pick(["y", "Y"])))]))
        case 5: return op("equals-ignore-case", .string(pick(["xy", "XY"])))
        case 6: return op("wildcard", .string(pick(["x*", "*y", "*x*", "x*y"])))
        case 7: return op("anything-but", next(2) == 0 ? .string(pick(strings)) : .array([number(), number()]))
        case 8: return op("anything-but", .object([(key: pick(["prefix", "suffix", "equals-ignore-case", "wildcard"]), value: .string(pick(["x", "y*"])))]))
        case 9: return op("numeric", .array([.string(pick(["<", "<=", "=", ">", ">="])), number()]))
        case 10:
            let high = next(10) + 1
            return op("numeric", .array([.string(">"), .number(-1, text: "-1"), .string("<="), .number(Double(high), text: "\(high)")]))
        case 11: return op("exists", .bool(next(2) == 0))
        case 12: return op("cidr", .string(pick(["10.0.0.0/16", "10.0.0.0/8"])))
        default: return scalar()
        }
    }

    mutating func patternObject(depth: Int) -> [(key: String, value: JSON)] {
        var pairs: [(key: String, value: JSON)] = []
        for key in keys where next(2) == 0 || pairs.isEmpty && key == keys.last {
            if depth < 2 && next(4) == 0 {
                pairs.append((key, .object(patternObject(depth: depth + 1))))
            } else {
                pairs.append((key, .array((0...next(2)).map { _ in condition() })))
            }
        }
        if depth < 2 && next(5) == 0 {
            pairs.append(("$or", .array((0...next(2) + 1).map { _ in .object(patternObject(depth: depth + 1)) })))
        }
        return pairs
    }

    mutating func pattern() -> JSON { .object(patternObject(depth: 0)) }

    mutating func value(depth: Int) -> JSON {
        switch next(depth < 3 ? 6 : 4) {
        case 0, 1, 2: scalar()
        case 3: .array((0..<next(3)).map { _ in depth < 3 && next(2) == 0 ? .object(eventObject(depth: depth + 1)) : scalar() })
        default: .object(eventObject(depth: depth + 1))
        }
    }

    mutating func eventObject(depth: Int) -> [(key: String, value: JSON)] {
        keys.filter { _ in next(3) != 0 }.map { ($0, value(depth: depth)) }
    }

    mutating func event() -> JSON { .object(eventObject(depth: 0)) }
}

@Suite struct MatcherTests {
    @Test func agreesWithTheReferenceEvaluator() throws {
        var generator = PatternGenerator(seed: 42)
        var matched = 0
        for round in 0..<40 {
            let patterns = try (0..<50).map { i in (id: i * 3 + round, pattern: try Pattern(json: generator.pattern())) }
            let matcher = Matcher(patterns)
            for _ in 0..<50 {
                let event = generator.event()
                let expected = patterns.filter { $0.pattern.matches(event) }.map(\.id).sorted()
                let got = matcher.matches(event)
                matched += got.count
                #expect(got == expected, "event \(event.compactText)")
                if got != expected { return }
            }
        }
        // The generator must exercise matches, not only misses.
        #expect(matched > 5000)
    }

    @Test func indexesEveryKindOfCondition() throws {
        let texts = [
            #"{"source":["aws.ec2"]}"#,
            #"{"time":[{"prefix":"2017-10-02"}]}"#,
            #"{"detail":{"instance-id":[{"suffix":"0000"}]}}"#,
            #"{"source":[{"equals-ignore-case":"AWS.EC2"}]}"#,
            #"{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}"#,
            #"{"detail-type":[{"wildcard":"EC2*Notification"}]}"#,
            #"{"detail":{"state":[{"anything-but":"stopped"}]}}"#,
            #"{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}"#,
            #"{"detail":{"coupon":[{"exists":false}]}}"#,
            #"{"detail":{"d-count":[{"exists":true}]}}"#,
            #"{"source":["aws.s3"]}"#,
            #"{"detail":{"c-count":[{"numeric":[">",5]}]}}"#,
        ]
        var patterns = try texts.enumerated().map { (id: $0.offset, pattern: try Pattern(text: $0.element)) }
        // Enough numeric ranges to use the segment tree.
        for i in 0..<20 {
            patterns.append((id: 100 + i, pattern: try Pattern(text: #"{"detail":{"x-limit":[{"numeric":[">=",\#(i * 20),"<",\#(i * 20 + 50)]}]}}"#)))
        }
        let event = try JSON.parse(readmeEvent)
        #expect(Matcher(patterns).matches(event) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 113, 114, 115])
    }

    @Test func costDoesNotGrowWithRulesThatCannotMatch() throws {
        // 10,000 rules on other sources: the event nominates none of them.
        let patterns = try (0..<10_000).map { i in (id: i, pattern: try Pattern(text: #"{"source":["svc.\#(i)"],"detail":{"n":[{"numeric":[">",\#(i)]}]}}"#)) }
        let matcher = Matcher(patterns)
        #expect(matcher.matches(try JSON.parse(#"{"source":"svc.42","detail":{"n":100}}"#)) == [42])
        #expect(matcher.matches(try JSON.parse(#"{"source":"svc.42","detail":{"n":1}}"#)) == [])
    }

    @Test func patternsWithTooManyOrCombinationsStillMatch() throws {
        // 3 × 3 × 3 × 3 = 81 combinations, over the expansion limit: indexed by the fields outside `$or`.
        let or = #"[{"x":["1"]},{"y":["2"]},{"z":[{"prefix":"3"}]}]"#
        let pattern = try Pattern(text: #"{"s":["k"],"$or":\#(or),"a":{"$or":\#(or)},"b":{"$or":\#(or)},"c":{"$or":\#(or)}}"#)
        let noExact = try Pattern(text: #"{"$or":\#(or),"a":{"$or":\#(or)},"b":{"$or":\#(or)},"c":{"$or":\#(or)}}"#)
        let matcher = Matcher([(id: 1, pattern: pattern), (id: 2, pattern: noExact)])
        let yes = try JSON.parse(#"{"s":"k","x":"1","a":{"y":"2"},"b":{"z":"34"},"c":{"x":"1"}}"#)
        let no = try JSON.parse(#"{"s":"k","x":"1","a":{"y":"2"},"b":{"z":"4"},"c":{"x":"1"}}"#)
        #expect(matcher.matches(yes) == [1, 2])
        #expect(matcher.matches(no) == [])
    }

    @Test func manyKeysAtOneLevelAreHashed() throws {
        // More children than MatcherBuilder.fewChildren under `detail`.
        let patterns = try (0..<30).map { i in (id: i, pattern: try Pattern(text: #"{"detail":{"k\#(i)":[{"numeric":[">",\#(i)]}]}}"#)) }
        let matcher = Matcher(patterns)
        #expect(matcher.matches(try JSON.parse(#"{"detail":{"k3":10,"k20":10,"k29":29}}"#)) == [3])
        #expect(matcher.matches(try JSON.parse(#"{"detail":{"k3":1,"k25":26}}"#)) == [25])
    }
}
