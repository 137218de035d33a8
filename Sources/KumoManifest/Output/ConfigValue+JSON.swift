/// Compact and canonical JSON for `ConfigValue`, and a strict parser that keeps key order and
/// tells integers from doubles: state files, saved plans and spec hashes are built on these.
extension ConfigValue {
    /// One-line JSON. With `sortedKeys`, object keys are sorted by their UTF-8 bytes at every
    /// level, so equal values always give equal text (the input of a spec hash).
    public func compactJSON(sortedKeys: Bool = false) -> String {
        String(decoding: compactJSONBytes(sortedKeys: sortedKeys), as: UTF8.self)
    }

    /// `compactJSON` as UTF-8 bytes, written without intermediate strings (spec hashes use it).
    public func compactJSONBytes(sortedKeys: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        writeCompact(into: &out, sortedKeys: sortedKeys)
        return out
    }

    private func writeCompact(into out: inout [UInt8], sortedKeys: Bool) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d): out += (d.isFinite ? ConfigValue.formatDouble(d) : "null").utf8
        case .string(let s): ConfigValue.writeJSONBytes(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.writeCompact(into: &out, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            let before: ((String, ConfigValue), (String, ConfigValue)) -> Bool = { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            let inOrder = !sortedKeys || pairs.indices.dropFirst().allSatisfy { !before(pairs[$0], pairs[$0 - 1]) }
            let ordered = inOrder ? pairs : pairs.sorted(by: before)
            for (i, (key, value)) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                ConfigValue.writeJSONBytes(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.writeCompact(into: &out, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string as bytes, escaped exactly as `writeJSONString` escapes it.
    static func writeJSONBytes(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var utf8 = s.utf8.makeIterator()
        var pending: [UInt8] = []
        func hex(_ value: UInt32) {
            let digits = Array("0123456789abcdef".utf8)
            out += "\\u".utf8
            for shift in stride(from: 12, through: 0, by: -4) { out.append(digits[Int((value >> UInt32(shift)) & 0xF)]) }
        }
        while let byte = utf8.next() {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case 0x0A: out += "\\n".utf8
            case 0x0D: out += "\\r".utf8
            case 0x09: out += "\\t".utf8
            case 0..<0x20, 0x7F: hex(UInt32(byte))
            case 0xC2:
                // U+0080–U+009F (C1 controls) are escaped; other two-byte characters copied.
                guard let next = utf8.next() else { out.append(byte); break }
                if (0x80...0x9F).contains(next) { hex(UInt32(next)) } else { out.append(byte); out.append(next) }
            case 0xE2:
                // U+2028 and U+2029 (line and paragraph separators) are escaped.
                pending = [byte]
                if let second = utf8.next() {
                    pending.append(second)
                    if let third = utf8.next() {
                        pending.append(third)
                        if second == 0x80 && (third == 0xA8 || third == 0xA9) { hex(third == 0xA8 ? 0x2028 : 0x2029); continue }
                    }
                }
                out += pending
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The value at `key` of an object, nil for anything else.
    public subscript(key: String) -> ConfigValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s } else { return nil }
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var arrayValue: [ConfigValue]? {
        if case .array(let a) = self { return a } else { return nil }
    }

    public var objectValue: [(String, ConfigValue)]? {
        if case .object(let o) = self { return o } else { return nil }
    }

    // MARK: Parsing

    public struct JSONError: Error, CustomStringConvertible, Equatable {
        /// Byte offset of the problem in the input.
        public var offset: Int
        public var message: String
        public var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    /// Parses strict JSON (RFC 8259). Integers that fit in `Int` become `.int`, other numbers
    /// `.double`; duplicate keys are an error; nesting is limited to `maxDepth`.
    public init(json text: String, maxDepth: Int = 256) throws(JSONError) {
        var text = text
        let parsed: Result<ConfigValue, JSONError> = text.withUTF8 { bytes in
            var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
            do throws(JSONError) {
                parser.skipSpace()
                let value = try parser.value(depth: 0)
                parser.skipSpace()
                if parser.index != bytes.count { throw parser.error("unexpected data after the value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        self = try parsed.get()
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func error(_ message: String) -> ConfigValue.JSONError {
        ConfigValue.JSONError(offset: index, message: message)
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString, _ value: ConfigValue) throws(ConfigValue.JSONError) -> ConfigValue {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        for i in 0..<count where bytes[index + i] != literal.utf8Start[i] { throw error("unexpected character") }
        index += count
        return value
    }

    mutating func value(depth: Int) throws(ConfigValue.JSONError) -> ConfigValue {
        guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth)") }
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var pairs: [(String, ConfigValue)] = []
            var keys = Set<String>()
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(pairs) }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let keyStart = index
                let key = try string()
                guard keys.insert(key).inserted else {
                    index = keyStart
                    throw error("duplicate key '\(key)'")
                }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipSpace()
                pairs.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard index < bytes.count else { throw error("unexpected end of input") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(pairs) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [ConfigValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw error("unexpected end of input") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        default: return try number()
        }
    }

    mutating func number() throws(ConfigValue.JSONError) -> ConfigValue {
        let start = index
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, ASCII.isDigit(bytes[index]) else { throw error("expected a value") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, ASCII.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, ASCII.isDigit(bytes[index]) else { throw error("expected a digit after '.'") }
            while index < bytes.count, ASCII.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, ASCII.isDigit(bytes[index]) else { throw error("expected an exponent") }
            while index < bytes.count, ASCII.isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let int = Int(text) { return .int(int) }
        guard let double = Double(text), double.isFinite else { throw error("number out of range") }
        return .double(double)
    }

    mutating func string() throws(ConfigValue.JSONError) -> String {
        index += 1  // opening quote
        // Fast path: no escapes before the closing quote.
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let slice = UnsafeBufferPointer(rebasing: bytes[index..<end])
            guard let s = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
            index = end + 1
            return s
        }
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("unpaired surrogate") }
                    out.append(contentsOf: String(unicode).utf8)
                default: throw error("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw error("control character in a string") }
                out.append(byte)
                index += 1
            }
        }
    }

    mutating func hex4() throws(ConfigValue.JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unterminated escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - 55
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
