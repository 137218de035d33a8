/// Compact JSON text of a ``JSON`` value, as the transformer delivers it: no spaces, numbers as
/// written, strings escaped minimally (quote, backslash, control characters).
enum JSONWriter {
    static func compact(_ json: JSON) -> String {
        var out = ""
        write(json, into: &out)
        return out
    }

    static func write(_ json: JSON, into out: inout String) {
        switch json {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(_, let text): out += text
        case .string(let s):
            out += "\""
            escape(s, into: &out)
            out += "\""
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out += "," }
                write(.string(pair.key), into: &out)
                out += ":"
                write(pair.value, into: &out)
            }
            out += "}"
        }
    }

    /// The inside of a JSON string holding `s`.
    static func escape(_ s: String, into out: inout String) {
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
    }
}
