/// A JSON value as EventBridge sees it: object keys keep their order, numbers keep the text they
/// were written with (a pattern is rendered verbatim and hashed as written).
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double, text: String)
    case string(String)
    case array([JSON])
    case object([(key: String, value: JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a, _), .number(let b, _)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The first value under `key` of an object.
    public subscript(key: String) -> JSON? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }
}

/// Why a text is not JSON: the byte offset and what was expected there.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

extension JSON {
    /// Nesting deeper than this is refused (as a JSON error, never a crash).
    public static let maximumDepth = 512

    /// Parses RFC 8259 JSON (UTF-8; invalid UTF-8, trailing data and depth over
    /// ``maximumDepth`` are errors).
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSON {
        fatalError("KumoEvents: JSON.parse is not implemented yet")
    }

    public static func parse(_ text: String) throws(JSONError) -> JSON {
        try parse(Array(text.utf8))
    }

    /// Compact JSON text (no spaces); numbers as written, strings escaped minimally.
    public var compactText: String {
        fatalError("KumoEvents: JSON.compactText is not implemented yet")
    }

    public var compactBytes: [UInt8] { Array(compactText.utf8) }
}
