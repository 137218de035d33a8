/// A JSON-like value with ordered keys, for `kumo config` output in YAML or JSON.
public indirect enum ConfigValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ConfigValue])
    case object([(String, ConfigValue)])

    public static func == (lhs: ConfigValue, rhs: ConfigValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        // Numbers compare by value: JSON writes 100.0 as 100, which reads back as an integer.
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    // MARK: JSON

    /// Pretty-printed JSON with two-space indentation and keys in their given order.
    public func json(indent: Int = 0) -> String {
        var out = ""
        writeJSON(into: &out, indent: indent)
        return out
    }

    private func writeJSON(into out: inout String, indent: Int) {
        let pad = String(repeating: " ", count: indent + 2)
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += ConfigValue.formatDouble(d)
        case .string(let s): ConfigValue.writeJSONString(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.writeJSON(into: &out, indent: indent + 2)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (key, value)) in pairs.enumerated() {
                out += pad
                ConfigValue.writeJSONString(key, into: &out)
                out += ": "
                value.writeJSON(into: &out, indent: indent + 2)
                out += i == pairs.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        }
    }

    /// A JSON number: integral values without a fraction (`15`, not `15.0`), others as Swift prints them.
    public static func formatDouble(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return "\(d)"
    }

    public static func writeJSONString(_ s: String, into out: inout String) {
        out += "\""
        // Most strings are printable ASCII with nothing to escape: copy them whole.
        let plain = s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if plain {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                // C0 and C1 controls, DEL and the Unicode line separators are escaped: YAML reads
                // NEL and the separators as line breaks and refuses raw C1 controls.
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    // MARK: YAML

    /// Block-style YAML; strings are quoted whenever a plain scalar could be read as anything else.
    public func yaml() -> String {
        String(decoding: yamlBytes(), as: UTF8.self)
    }

    /// ``yaml()`` as UTF-8 bytes: written into one buffer, which large documents (a rendered
    /// template of thousands of resources) need to be fast.
    public func yamlBytes() -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .object(let pairs) where !pairs.isEmpty: ConfigValue.writeYAMLPairs(pairs[...], into: &out, indent: 0, padFirst: true)
        case .array(let items) where !items.isEmpty: ConfigValue.writeYAMLArray(items, into: &out, indent: 0)
        default:
            writeInlineYAML(into: &out)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    private func writeInlineYAML(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let i): out += String(i).utf8
        case .double(let d): out += ConfigValue.formatDouble(d).utf8
        case .string(let s): ConfigValue.writeYAMLScalar(s, into: &out)
        case .array: out += "[]".utf8
        case .object: out += "{}".utf8
        }
    }

    private static func pad(_ out: inout [UInt8], _ indent: Int) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent))
    }

    /// Pairs at `indent`; without `padFirst` the first key continues a line already begun
    /// (an array item's `- `).
    private static func writeYAMLPairs(_ pairs: ArraySlice<(String, ConfigValue)>, into out: inout [UInt8], indent: Int, padFirst: Bool) {
        // A large mapping (the resources of a big template) is written in ranges on all cores.
        if padFirst, pairs.count >= 4096 {
            let start = pairs.startIndex
            let parts = Parallel.ranges(pairs.count, minimum: 2048) { range in
                var part: [UInt8] = []
                writeYAMLPairsSerially(pairs[(start + range.lowerBound)..<(start + range.upperBound)], into: &part, indent: indent, padFirst: true)
                return part
            }
            for part in parts { out += part }
            return
        }
        writeYAMLPairsSerially(pairs, into: &out, indent: indent, padFirst: padFirst)
    }

    private static func writeYAMLPairsSerially(_ pairs: ArraySlice<(String, ConfigValue)>, into out: inout [UInt8], indent: Int, padFirst: Bool) {
        var first = true
        for (key, value) in pairs {
            if padFirst || !first { pad(&out, indent) }
            first = false
            writeYAMLScalar(key, into: &out)
            out.append(UInt8(ascii: ":"))
            switch value {
            case .object(let p) where !p.isEmpty:
                out.append(UInt8(ascii: "\n"))
                writeYAMLPairs(p[...], into: &out, indent: indent + 2, padFirst: true)
            case .array(let a) where !a.isEmpty:
                out.append(UInt8(ascii: "\n"))
                writeYAMLArray(a, into: &out, indent: indent + 2)
            default:
                out.append(UInt8(ascii: " "))
                value.writeInlineYAML(into: &out)
                out.append(UInt8(ascii: "\n"))
            }
        }
    }

    private static func writeYAMLArray(_ items: [ConfigValue], into out: inout [UInt8], indent: Int) {
        for item in items {
            pad(&out, indent)
            switch item {
            case .object(let p) where !p.isEmpty:
                // The first key shares the dash's line; the rest align under it.
                out += "- ".utf8
                writeYAMLPairs(p[...], into: &out, indent: indent + 2, padFirst: false)
            case .array(let a) where !a.isEmpty:
                out += "-\n".utf8
                writeYAMLArray(a, into: &out, indent: indent + 2)
            default:
                out += "- ".utf8
                item.writeInlineYAML(into: &out)
                out.append(UInt8(ascii: "\n"))
            }
        }
    }

    private static func writeYAMLScalar(_ s: String, into out: inout [UInt8]) {
        if needsQuotes(s) { writeJSONBytes(s, into: &out) } else { out += s.utf8 }
    }

    static func needsQuotes(_ s: String) -> Bool {
        if let plain = plainASCII(s) { return plain }
        guard let first = s.unicodeScalars.first, let last = s.unicodeScalars.last else { return true }
        if first == " " || last == " " { return true }
        if "-?:,[]{}#&*!|>'\"%@`~".unicodeScalars.contains(first) { return true }
        // Indicators are checked on bytes: `contains` on String compares Characters, and a
        // combining mark after the space would hide ": " from it.
        let utf8 = Array(s.utf8)
        for i in utf8.indices.dropLast() {
            if utf8[i] == UInt8(ascii: ":") && (utf8[i + 1] == UInt8(ascii: " ") || utf8[i + 1] == UInt8(ascii: "\t")) { return true }
            if (utf8[i] == UInt8(ascii: " ") || utf8[i] == UInt8(ascii: "\t")) && utf8[i + 1] == UInt8(ascii: "#") { return true }
        }
        if utf8.last == UInt8(ascii: ":") || utf8.contains(UInt8(ascii: "\t")) { return true }
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0.value >= 0x80 && $0.properties.generalCategory == .control || $0 == "\u{FEFF}" || $0 == "\u{2028}" || $0 == "\u{2029}" || $0 == "\u{85}" }) { return true }
        // Anything a YAML 1.1 or 1.2 reader might take as null, boolean or number.
        let lower = s.lowercased()
        let special = ["null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf", ".nan", "<<", "="]
        if special.contains(lower) { return true }
        if s.unicodeScalars.allSatisfy({ "0123456789+-.:_eExXoObB".unicodeScalars.contains($0) || ($0.properties.isASCIIHexDigit) }) && s.unicodeScalars.contains(where: { $0.properties.numericType != nil }) { return true }
        return false
    }

    /// The answer of ``needsQuotes(_:)`` for the common case, in one pass over the bytes: a
    /// string that starts with a letter, digit, `/`, `_` or `.`, holds only letters, digits,
    /// spaces and `_./():{}[],*=+~;@$-#` with no `": "` or `" #"`, and does not end in a space or
    /// `:` can be read as something else only when it is a special word or looks like a number.
    /// Nil for any other string.
    private static func plainASCII(_ s: String) -> Bool? {
        var count = 0
        var hasDigit = false
        var numberish = true
        var last: UInt8 = 0
        for byte in s.utf8 {
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if count == 0 {
                guard letter || digit || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") else { return nil }
            } else {
                switch byte {
                case UInt8(ascii: " "):
                    // ": " starts a value.
                    if last == UInt8(ascii: ":") { return nil }
                case UInt8(ascii: "#"):
                    // " #" starts a comment.
                    if last == UInt8(ascii: " ") { return nil }
                case UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ":"),
                     UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: "*"),
                     UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "~"), UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"), UInt8(ascii: "-"):
                    break
                default:
                    guard letter || digit else { return nil }
                }
            }
            if digit { hasDigit = true }
            if numberish {
                let hex = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "f")
                switch byte {
                case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "_"),
                     UInt8(ascii: "x"), UInt8(ascii: "X"), UInt8(ascii: "o"), UInt8(ascii: "O"), UInt8(ascii: "b"), UInt8(ascii: "B"):
                    break
                default:
                    numberish = digit || hex
                }
            }
            last = byte
            count += 1
        }
        guard count > 0, last != UInt8(ascii: " "), last != UInt8(ascii: ":") else { return nil }
        if numberish && hasDigit { return true }
        guard count <= 5 else { return false }
        // The special words, compared without case on the (ASCII) bytes.
        var lower: [UInt8] = []
        lower.reserveCapacity(count)
        for byte in s.utf8 { lower.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte) }
        return specialWords.contains(lower)
    }

    private static let specialWords: [[UInt8]] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", ".nan"].map { Array($0.utf8) }
}
