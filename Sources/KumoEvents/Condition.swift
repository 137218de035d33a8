/// One compiled condition of a pattern's matcher list, tested against one leaf value of an event
/// (a string, number, boolean or null; never an object or a list).
///
/// Strings compare by their UTF-8 bytes, as EventBridge does (not by Swift's canonical
/// equivalence); `equals-ignore-case` and its `prefix`/`suffix` forms compare Unicode lowercase
/// mappings (`String.lowercased()`).
enum Condition: Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    /// The text is lowercased when `ignoreCase`.
    case prefix(String, ignoreCase: Bool)
    case suffix(String, ignoreCase: Bool)
    /// Lowercased.
    case equalsIgnoreCase(String)
    case wildcard(Wildcard)
    case anythingBut(AnythingBut)
    case numeric(NumericRange)
    /// Presence of a leaf value: `exists: true` wants at least one, `false` none.
    case exists(Bool)
    case cidr(CIDR)

    /// Whether one leaf value satisfies the condition (`exists` is decided by the caller).
    func accepts(_ value: JSON) -> Bool {
        switch self {
        case .string(let s):
            if case .string(let v) = value { return Bytes.equal(s, v) }
            return false
        case .number(let n):
            if case .number(let v, _) = value { return v == n }
            return false
        case .bool(let b):
            if case .bool(let v) = value { return v == b }
            return false
        case .null:
            if case .null = value { return true }
            return false
        case .prefix(let p, let ignoreCase):
            guard case .string(let v) = value else { return false }
            return Bytes.hasPrefix(ignoreCase ? v.lowercased() : v, p)
        case .suffix(let p, let ignoreCase):
            guard case .string(let v) = value else { return false }
            return Bytes.hasSuffix(ignoreCase ? v.lowercased() : v, p)
        case .equalsIgnoreCase(let s):
            guard case .string(let v) = value else { return false }
            return Bytes.equal(v.lowercased(), s)
        case .wildcard(let w):
            guard case .string(let v) = value else { return false }
            return w.matches(v)
        case .anythingBut(let a):
            return a.accepts(value)
        case .numeric(let range):
            guard case .number(let v, _) = value else { return false }
            return range.contains(v)
        case .exists(let present):
            return present
        case .cidr(let block):
            guard case .string(let v) = value, let address = IPAddress(v) else { return false }
            return block.contains(address)
        }
    }
}

/// `anything-but`: any leaf value except the listed ones. A missing field does not match.
struct AnythingBut: Sendable {
    enum Kind: Sendable {
        /// Exact values (strings, or numbers, or booleans/null).
        case values([Condition])
        case prefix([String])
        case suffix([String])
        /// Lowercased.
        case equalsIgnoreCase([String])
        case wildcard([Wildcard])
    }

    var kind: Kind

    /// The string forms (`prefix`, `suffix`, `equals-ignore-case`, `wildcard`) exclude strings
    /// only: a number, boolean or null is "anything but" them.
    func accepts(_ value: JSON) -> Bool {
        switch kind {
        case .values(let values):
            return !values.contains { $0.accepts(value) }
        case .prefix(let ps):
            guard case .string(let v) = value else { return true }
            return !ps.contains { Bytes.hasPrefix(v, $0) }
        case .suffix(let ps):
            guard case .string(let v) = value else { return true }
            return !ps.contains { Bytes.hasSuffix(v, $0) }
        case .equalsIgnoreCase(let ss):
            guard case .string(let v) = value else { return true }
            let lower = v.lowercased()
            return !ss.contains { Bytes.equal(lower, $0) }
        case .wildcard(let ws):
            guard case .string(let v) = value else { return true }
            return !ws.contains { $0.matches(v) }
        }
    }
}

/// `numeric`: one comparison or a range; `=` is a range of one point.
struct NumericRange: Sendable, Equatable {
    var lower: Double = -.infinity
    var lowerInclusive = false
    var upper: Double = .infinity
    var upperInclusive = false

    func contains(_ v: Double) -> Bool {
        (lowerInclusive ? v >= lower : v > lower) && (upperInclusive ? v <= upper : v < upper)
    }
}

/// A `wildcard` value: literal runs separated by `*` (each `*` matches any run of bytes, empty
/// included); `\*` is a literal star and `\\` a literal backslash.
struct Wildcard: Sendable {
    /// The literal runs; there is one `*` between each pair of neighbours.
    let segments: [[UInt8]]

    /// nil with a reason when the text is not a valid wildcard.
    static func parse(_ text: String) -> Result<Wildcard, WildcardProblem> {
        var segments: [[UInt8]] = [[]]
        var escaped = false
        var previousStar = false
        for byte in text.utf8 {
            if escaped {
                guard byte == UInt8(ascii: "*") || byte == UInt8(ascii: "\\") else { return .failure(.badEscape) }
                segments[segments.count - 1].append(byte)
                escaped = false
                previousStar = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "*") {
                if previousStar { return .failure(.consecutiveStars) }
                segments.append([])
                previousStar = true
            } else {
                segments[segments.count - 1].append(byte)
                previousStar = false
            }
        }
        if escaped { return .failure(.badEscape) }
        return .success(Wildcard(segments: segments))
    }

    enum WildcardProblem: Error { case consecutiveStars, badEscape }

    /// The literal the value must start with (empty when it starts with `*`).
    var literalPrefix: [UInt8] { segments[0] }
    var literalSuffix: [UInt8] { segments.count > 1 ? segments[segments.count - 1] : [] }
    var hasStar: Bool { segments.count > 1 }

    func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { matches(bytes: $0) }
    }

    /// Leftmost-greedy placement of the middle runs is exact for patterns whose only
    /// metacharacter is `*`.
    func matches(bytes v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard hasStar else { return v.elementsEqual(segments[0]) }
        let first = segments[0], last = segments[segments.count - 1]
        guard v.count >= first.count + last.count, v.starts(with: first), v[(v.count - last.count)...].elementsEqual(last) else { return false }
        var position = first.count
        let end = v.count - last.count
        for segment in segments[1..<(segments.count - 1)] where !segment.isEmpty {
            guard let found = Bytes.find(segment, in: v, from: position, to: end) else { return false }
            position = found + segment.count
        }
        return true
    }
}

/// Byte-wise string comparisons (EventBridge compares UTF-8, not canonical equivalence).
enum Bytes {
    @inline(__always) static func equal(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && same(a, b, offset: 0)
    }

    static func hasPrefix(_ s: String, _ p: String) -> Bool {
        s.utf8.count >= p.utf8.count && same(s, p, offset: 0)
    }

    static func hasSuffix(_ s: String, _ p: String) -> Bool {
        let n = s.utf8.count, m = p.utf8.count
        return n >= m && same(s, p, offset: n - m)
    }

    /// Whether `s`, from byte `offset`, starts with the bytes of `p` (which must fit).
    private static func same(_ s: String, _ p: String, offset: Int) -> Bool {
        let fast = s.utf8.withContiguousStorageIfAvailable { sb in
            p.utf8.withContiguousStorageIfAvailable { pb in
                for i in 0..<pb.count where sb[offset + i] != pb[i] { return false }
                return true
            }
        }
        if let fast, let result = fast { return result }
        return s.utf8.dropFirst(offset).starts(with: p.utf8)
    }

    static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from: Int, to end: Int) -> Int? {
        guard needle.count <= end - from else { return nil }
        var i = from
        while i + needle.count <= end {
            if haystack[i] == needle[0] {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
