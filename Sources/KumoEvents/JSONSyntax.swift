/// A small JSON syntax checker (no values built); depth-limited so it cannot overflow the stack.
///
/// Until `JSON.parse` lands, the transformer checks constants and templates with it.
struct JSONSyntax {
    static func isJSON(_ text: String) -> Bool {
        var parser = JSONSyntax(Array(text.utf8))
        return parser.document()
    }

    let bytes: [UInt8]
    var i = 0
    var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() -> Bool {
        skip()
        guard value() else { return false }
        skip()
        return i == bytes.count
    }

    mutating func skip() {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
    }

    mutating func literal(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { return false }
        i += w.count
        return true
    }

    mutating func value() -> Bool {
        guard i < bytes.count else { return false }
        switch bytes[i] {
        case UInt8(ascii: "{"): return container(close: UInt8(ascii: "}"), keyed: true)
        case UInt8(ascii: "["): return container(close: UInt8(ascii: "]"), keyed: false)
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    mutating func container(close: UInt8, keyed: Bool) -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth < 128 else { return false }
        i += 1
        skip()
        if i < bytes.count, bytes[i] == close { i += 1; return true }
        while true {
            skip()
            if keyed {
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), string() else { return false }
                skip()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
                i += 1
                skip()
            }
            guard value() else { return false }
            skip()
            guard i < bytes.count else { return false }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == close { i += 1; return true }
            return false
        }
    }

    mutating func string() -> Bool {
        i += 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""): i += 1; return true
            case UInt8(ascii: "\\"):
                guard i + 1 < bytes.count else { return false }
                let escape = bytes[i + 1]
                if escape == UInt8(ascii: "u") {
                    guard i + 5 < bytes.count, bytes[(i + 2)...(i + 5)].allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }) else { return false }
                    i += 6
                } else {
                    guard "\"\\/bfnrt".utf8.contains(escape) else { return false }
                    i += 2
                }
            case 0..<32: return false
            default: i += 1
            }
        }
        return false
    }

    /// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func number() -> Bool {
        func digits() -> Int {
            let start = i
            while i < bytes.count, (bytes[i] >= 48 && bytes[i] <= 57) { i += 1 }
            return i - start
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, (bytes[i] >= 48 && bytes[i] <= 57) else { return false }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { _ = digits() }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return true
    }
}

