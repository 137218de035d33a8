// `kumo-bench events-match`: the cost of matching events against many EventBridge rules with
// KumoEvents' Matcher, relative to parsing them (Benchmarks/events.sh).
//
// Generates N realistic events (EventBridge envelopes of 1–4 KB, deterministic seed) and, per
// rule count, that many realistic rules (exact source and detail-type, prefixes, numeric ranges,
// anything-but, exists, a few $or). On one thread it times parsing every event (parse-only) and
// parsing plus matching it (parse+match), with the same parser, alternating the two and keeping
// each one's best of three, and prints both rates and their ratio per rule count (and the rate of
// matching alone on a hot sample), as text lines and a final JSON line.

import KumoEvents

struct EventsMatchOptions {
    var events = 100_000
    var rules = [10, 100, 1000, 10_000]
    var seed: UInt64 = 42

    static let usage = "usage: kumo-bench events-match [--events N] [--rules N,N,...] [--seed S]"

    static func parse(_ arguments: ArraySlice<String>) -> EventsMatchOptions {
        var options = EventsMatchOptions()
        var rest = arguments
        while let argument = rest.popFirst() {
            guard let value = rest.popFirst() else { fail("\(argument) needs a value\n\(usage)") }
            func number(_ text: Substring) -> Int {
                guard let n = Int(text), n > 0 else { fail("\(argument): not a positive number: \(text)") }
                return n
            }
            switch argument {
            case "--events": options.events = number(Substring(value))
            case "--rules": options.rules = value.split(separator: ",").map(number)
            case "--seed": options.seed = UInt64(number(Substring(value)))
            default: fail("unknown option \(argument)\n\(usage)")
            }
        }
        return options
    }
}

/// xorshift64*: deterministic and fast.
struct BenchRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2685821657736338717
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}

enum EventCorpus {
    static let sources = (0..<400).map { "com.acme.\(["orders", "billing", "shipping", "catalog", "users", "search", "ads", "iot"][$0 % 8]).svc\($0)" }
    static let detailTypes = ["OrderPlaced", "OrderCancelled", "PaymentCaptured", "PaymentFailed", "ShipmentDispatched",
                              "ItemViewed", "UserSignedUp", "DeviceHeartbeat", "PriceChanged", "StockLow"]
    static let statuses = ["pending", "confirmed", "cancelled", "shipped", "failed", "refunded"]
    static let regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]
    static let tiers = ["free", "silver", "gold", "platinum"]
    static let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]

    static func hex(_ r: inout BenchRandom, _ n: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<n).map { _ in digits[r.int(16)] })
    }

    /// One EventBridge envelope, 1–4 KB of JSON.
    static func event(_ r: inout BenchRandom) -> String {
        let source = r.pick(sources), type = r.pick(detailTypes), region = r.pick(regions)
        let account = String(100_000_000_000 + r.int(900_000_000_000))
        var items: [String] = []
        for i in 0..<(5 + r.int(20)) {
            items.append(#"{"sku":"SKU-\#(r.int(100_000))","name":"\#(r.pick(words)) \#(r.pick(words)) \#(i)","qty":\#(1 + r.int(5)),"price":\#(r.int(50_000)).\#(r.int(100)),"tags":["\#(r.pick(words))","\#(r.pick(words))"]}"#)
        }
        let optional = r.int(3) == 0 ? #","coupon":"SAVE\#(r.int(50))""# : ""
        return #"""
            {"version":"0","id":"\#(hex(&r, 8))-\#(hex(&r, 4))-\#(hex(&r, 4))-\#(hex(&r, 4))-\#(hex(&r, 12))","detail-type":"\#(type)","source":"\#(source)","account":"\#(account)","time":"2026-\#(10 + r.int(3))-\#(10 + r.int(18))T\#(10 + r.int(14)):\#(10 + r.int(50)):\#(10 + r.int(50))Z","region":"\#(region)","resources":["arn:aws:\#(source.split(separator: ".")[2]):\#(region):\#(account):order/\#(hex(&r, 16))"],"detail":{"orderId":"ord-\#(hex(&r, 10))","status":"\#(r.pick(statuses))","amount":\#(r.int(100_000)).\#(r.int(100)),"currency":"\#(r.pick(["USD", "EUR", "JPY"]))","sourceIp":"10.\#(r.int(256)).\#(r.int(256)).\#(r.int(256))","customer":{"id":"cus-\#(hex(&r, 8))","tier":"\#(r.pick(tiers))","email":"\#(r.pick(words))@example.com","address":{"city":"\#(r.pick(words).capitalized)ville","country":"\#(r.pick(["US", "DE", "JP", "FR"]))"}}\#(optional),"items":[\#(items.joined(separator: ","))],"note":"\#((0..<(5 + r.int(30))).map { _ in r.pick(words) }.joined(separator: " "))"}}
            """#
    }

    /// One realistic rule: an exact source and (usually) detail-type, plus one or two detail
    /// conditions; every 25th uses `$or`.
    static func rule(_ i: Int, _ r: inout BenchRandom) -> String {
        var fields: [String] = [#""source":["\#(r.pick(sources))"]"#]
        switch r.int(4) {
        case 0: fields.append(#""detail-type":[{"prefix":"\#(String(r.pick(detailTypes).prefix(5)))"}]"#)
        default: fields.append(#""detail-type":["\#(r.pick(detailTypes))"]"#)
        }
        var detail: [String] = []
        switch r.int(6) {
        case 0: detail.append(#""amount":[{"numeric":[">=",\#(r.int(50_000)),"<",\#(50_000 + r.int(50_000))]}]"#)
        case 1: detail.append(#""status":[{"anything-but":["cancelled","failed"]}]"#)
        case 2: detail.append(#""coupon":[{"exists":\#(r.int(2) == 0)}]"#)
        case 3: detail.append(#""customer":{"tier":["\#(r.pick(tiers))"]}"#)
        case 4: detail.append(#""sourceIp":[{"cidr":"10.\#(r.int(256)).0.0/16"}]"#)
        default: detail.append(#""items":{"sku":[{"prefix":"SKU-\#(r.int(10))"}]}"#)
        }
        if !detail.isEmpty { fields.append(#""detail":{\#(detail.joined(separator: ","))}"#) }
        if i % 25 == 0 {
            fields.append(#""$or":[{"region":["\#(r.pick(regions))"]},{"detail":{"currency":["EUR"]}}]"#)
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

func runEventsMatch(_ options: EventsMatchOptions) {
    var random = BenchRandom(options.seed)
    let events: [[UInt8]] = (0..<options.events).map { _ in Array(EventCorpus.event(&random).utf8) }
    let bytes = events.reduce(0) { $0 + $1.count }
    printError("events: \(events.count), \(bytes / events.count) bytes on average (\(events.map(\.count).min()!)–\(events.map(\.count).max()!))")

    /// Parses every event, and matches it when a matcher is given; returns (seconds, matches).
    func pass(_ matcher: Matcher?) -> (Double, Int) {
        var matched = 0
        let start = now()
        for event in events {
            guard let json = try? JSON.parse(event) else { fail("generated an invalid event") }
            if let matcher { matched += matcher.matches(json).count } else if case .object(let pairs) = json { matched &+= pairs.count & 0 }
        }
        return (now() - start, matched)
    }

    _ = pass(nil)  // warm-up
    // Matching alone, on 500 parsed events kept hot in cache, 100 times over: where
    // parse+match's extra time goes.
    let sample: [JSON] = events.prefix(500).map { try! JSON.parse($0) }
    func matchOnly(_ matcher: Matcher) -> Double {
        var matched = 0
        let start = now()
        for _ in 0..<100 { for event in sample { matched += matcher.matches(event).count } }
        let seconds = now() - start
        if matched < 0 { print(matched) }
        return Double(sample.count * 100) / seconds
    }
    var results: [String] = []
    for count in options.rules {
        var ruleRandom = BenchRandom(options.seed &+ 1)
        let patterns = (0..<count).map { i in
            let text = EventCorpus.rule(i, &ruleRandom)
            do { return (id: i, pattern: try Pattern(text: text)) } catch { fail("generated an invalid rule \(text): \(error)") }
        }
        let buildStart = now()
        let matcher = Matcher(patterns)
        let build = now() - buildStart
        // The machine may be shared: alternate the two passes and keep each one's best of three.
        var parseSeconds = Double.infinity, matchSeconds = Double.infinity, matched = 0
        for _ in 0..<3 {
            parseSeconds = min(parseSeconds, pass(nil).0)
            let (seconds, count) = pass(matcher)
            matchSeconds = min(matchSeconds, seconds)
            matched = count
        }
        let parseRate = Double(events.count) / parseSeconds, matchRate = Double(events.count) / matchSeconds
        let ratio = matchRate / parseRate
        let matchOnlyRate = matchOnly(matcher)
        print("rules \(count): parse-only \(Int(parseRate)) events/s, parse+match \(Int(matchRate)) events/s, ratio \(String(format3(ratio))); match-only \(Int(matchOnlyRate)) events/s, \(String(format3(Double(matched) / Double(events.count)))) matches/event, build \(String(format3(build))) s")
        results.append(#"{"rules":\#(count),"parse_events_per_s":\#(Int(parseRate)),"match_events_per_s":\#(Int(matchRate)),"ratio":\#(format3(ratio)),"match_only_events_per_s":\#(Int(matchOnlyRate)),"matches_per_event":\#(format3(Double(matched) / Double(events.count))),"build_s":\#(format3(build))}"#)
    }
    print("{\"events\": \(events.count), \"bytes\": \(bytes), \"results\": [\(results.joined(separator: ", "))]}")
}

func format3(_ x: Double) -> String {
    let scaled = (x * 1000).rounded() / 1000
    return String(scaled)
}
