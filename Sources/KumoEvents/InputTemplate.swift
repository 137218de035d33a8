/// An input template split into text and `<name>` placeholders, each known to sit inside a JSON
/// string or not.
///
/// A template is JSON when, with its placeholders taken as values, it is a JSON text (an object,
/// an array, or a quoted string like `"instance <id> is <state>"`); its text is then minified (the
/// whitespace outside strings dropped), as EventBridge passes JSON on. Any other template is plain
/// text, delivered as written with values inserted raw.
struct InputTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case placeholder(String, quoted: Bool)
    }

    var parts: [Part]
    var isJSON: Bool

    init(_ template: String) {
        let bytes = Array(template.utf8)
        var json: [Part] = []
        var plain: [Part] = []
        var jsonText: [UInt8] = [], plainText: [UInt8] = []
        var probe: [UInt8] = []
        var inString = false
        var i = 0
        func flush() {
            if !jsonText.isEmpty { json.append(.text(String(decoding: jsonText, as: UTF8.self))) }
            if !plainText.isEmpty { plain.append(.text(String(decoding: plainText, as: UTF8.self))) }
            jsonText = []
            plainText = []
        }
        while i < bytes.count {
            if let (name, end) = Self.placeholder(at: i, in: bytes) {
                flush()
                json.append(.placeholder(name, quoted: inString))
                plain.append(.placeholder(name, quoted: false))
                // For the syntax probe: any value outside a string, nothing inside one.
                if !inString { probe += Array("0".utf8) }
                i = end
                continue
            }
            let byte = bytes[i]
            plainText.append(byte)
            probe.append(byte)
            if inString {
                jsonText.append(byte)
                if byte == UInt8(ascii: "\\"), i + 1 < bytes.count {
                    i += 1
                    jsonText.append(bytes[i])
                    plainText.append(bytes[i])
                    probe.append(bytes[i])
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                if byte == UInt8(ascii: "\"") { inString = true }
                if !(byte == 32 || byte == 9 || byte == 10 || byte == 13) { jsonText.append(byte) }
            }
            i += 1
        }
        flush()
        isJSON = (try? JSON.parse(probe)) != nil
        parts = isJSON ? json : plain
    }

    /// The placeholder names, in order of appearance.
    var placeholders: [(name: String, quoted: Bool)] {
        parts.compactMap { if case .placeholder(let name, let quoted) = $0 { (name, quoted) } else { nil } }
    }

    /// `<name>` at `i`: letters, digits, `_`, `-` and `.`; the name and the index after `>`.
    static func placeholder(at i: Int, in bytes: [UInt8]) -> (String, Int)? {
        guard bytes[i] == UInt8(ascii: "<") else { return nil }
        var j = i + 1
        while j < bytes.count, isNameByte(bytes[j]) { j += 1 }
        guard j > i + 1, j < bytes.count, bytes[j] == UInt8(ascii: ">") else { return nil }
        return (String(decoding: bytes[(i + 1)..<j], as: UTF8.self), j + 1)
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b | 0x20 >= 97 && b | 0x20 <= 122) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }
}
