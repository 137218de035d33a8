#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KumoEvents

/// One sample of a load trace: a time in milliseconds and the load then.
public struct TraceSample: Sendable, Equatable {
    /// Milliseconds: seconds as written, or an ISO-8601 time's distance from the first one.
    public var time: Int64
    /// The policy's metric summed over all replicas, such as total requests per second.
    public var load: Double

    public init(time: Int64, load: Double) {
        self.time = time
        self.load = load
    }
}

/// A malformed trace: the line (1-based; 0 when no line is to blame) and what is wrong with it.
public struct TraceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

/// Reads a load trace, CSV with the header `time,load`, from bytes as they arrive, without
/// decoding text: each line is `TIME,LOAD` where TIME is seconds (`15`, `2.5`) or an ISO-8601
/// time (`2026-03-01T10:00:00Z`, taken relative to the first line's), every line in one form,
/// in time order (a repeated time replaces the earlier load); LOAD is a number ≥ 0. Spaces
/// around fields, CRLF endings, a UTF-8 byte order mark and blank lines are accepted.
///
/// Memory stays bounded whatever the input: a line longer than ``maximumLineLength`` is an
/// error, and samples go to the caller one at a time.
public struct TraceParser: Sendable {
    public static let header = "time,load"
    public static let maximumLineLength = 4096

    /// The number of the last line read.
    public private(set) var line = 0
    /// Samples read so far.
    public private(set) var samples = 0
    private var partial: [UInt8] = []
    private var headerSeen = false
    private var iso: Bool?
    private var origin: Int64 = 0
    private var last: Int64?

    public init() {}

    /// Reads every complete line of `bytes`, calling `sample` for each sample; an incomplete last
    /// line waits for the next call or ``finish(_:)``. Throws a ``TraceError`` for a malformed
    /// line, or what `sample` throws.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, _ sample: (TraceSample) throws -> Void) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let end = base + bytes.count
        var start = base
        while start < end {
            guard let found = memchr(start, 0x0A, end - start) else {
                try keep(UnsafeRawBufferPointer(start: start, count: end - start))
                return
            }
            let newline = UnsafeRawPointer(found)
            let text = UnsafeRawBufferPointer(start: start, count: newline - start)
            if partial.isEmpty {
                try read(text, sample)
            } else {
                try keep(text)
                let whole = partial
                partial.removeAll(keepingCapacity: true)
                try whole.withUnsafeBytes { try read($0, sample) }
            }
            start = newline + 1
        }
    }

    /// ``parse(_:_:)`` on an array of bytes.
    public mutating func parse(_ bytes: [UInt8], _ sample: (TraceSample) throws -> Void) throws {
        try bytes.withUnsafeBytes { try parse($0, sample) }
    }

    /// Reads a last line that has no newline, and checks the trace had a header and a sample.
    public mutating func finish(_ sample: (TraceSample) throws -> Void) throws {
        if !partial.isEmpty {
            let whole = partial
            partial.removeAll()
            try whole.withUnsafeBytes { try read($0, sample) }
        }
        guard headerSeen else { throw TraceError(line: 1, message: "the trace is empty: expected the header '\(Self.header)'") }
        guard samples > 0 else { throw TraceError(line: 0, message: "the trace has no samples after its header") }
    }

    /// Keeps the start of a line that continues in the next bytes.
    private mutating func keep(_ text: UnsafeRawBufferPointer) throws {
        guard partial.count + text.count <= Self.maximumLineLength else {
            throw TraceError(line: line + 1, message: "longer than \(Self.maximumLineLength) bytes (is this a CSV trace?)")
        }
        partial.append(contentsOf: text)
    }

    private mutating func read(_ text: UnsafeRawBufferPointer, _ sample: (TraceSample) throws -> Void) throws {
        line += 1
        guard text.count <= Self.maximumLineLength else {
            throw TraceError(line: line, message: "longer than \(Self.maximumLineLength) bytes (is this a CSV trace?)")
        }
        var bytes = text.trimmed
        if !headerSeen {
            if line == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst(3)).trimmed }
            guard let comma = bytes.firstIndex(of: UInt8(ascii: ",")),
                  Self.isWord(UnsafeRawBufferPointer(rebasing: bytes[..<comma]).trimmed, "time"),
                  Self.isWord(UnsafeRawBufferPointer(rebasing: bytes[(comma + 1)...]).trimmed, "load") else {
                throw TraceError(line: line, message: "expected the header '\(Self.header)', got \(Self.quoted(bytes))")
            }
            headerSeen = true
            return
        }
        if bytes.isEmpty { return }
        guard let comma = bytes.firstIndex(of: UInt8(ascii: ",")) else {
            throw TraceError(line: line, message: "expected TIME,LOAD, got \(Self.quoted(bytes))")
        }
        let timeText = UnsafeRawBufferPointer(rebasing: bytes[..<comma]).trimmed
        let loadText = UnsafeRawBufferPointer(rebasing: bytes[(comma + 1)...]).trimmed
        if loadText.contains(UInt8(ascii: ",")) {
            throw TraceError(line: line, message: "expected two fields, TIME,LOAD, got \(Self.quoted(bytes))")
        }
        let time = try self.time(timeText)
        guard let load = Self.number(loadText) else {
            throw TraceError(line: line, message: "load \(Self.quoted(loadText)) is not a number")
        }
        guard load >= 0 else { throw TraceError(line: line, message: "load \(Self.quoted(loadText)) is negative") }
        guard load.isFinite else { throw TraceError(line: line, message: "load \(Self.quoted(loadText)) is too large") }
        if let last, time < last {
            throw TraceError(line: line, message: "time \(Self.quoted(timeText)) is before the previous line's; the trace must be in time order")
        }
        last = time
        samples += 1
        try sample(TraceSample(time: time, load: load))
    }

    /// Milliseconds from seconds, or from an ISO-8601 time relative to the first one.
    private mutating func time(_ text: UnsafeRawBufferPointer) throws -> Int64 {
        let looksISO = text.count >= 10 && text[4] == UInt8(ascii: "-")
        if iso == nil { iso = looksISO }
        if iso == true {
            guard looksISO, let t = text.withMemoryRebound(to: UInt8.self, Timestamp.parse(utf8:)) else {
                throw TraceError(line: line, message: looksISO
                    ? "time \(Self.quoted(text)) is not an ISO-8601 time such as 2026-03-01T10:00:00Z"
                    : "time \(Self.quoted(text)) is seconds, but the first line's is an ISO-8601 time")
            }
            let ms = Int64(t.seconds) * 1000 + Int64((t.fraction * 1000).rounded())
            if samples == 0 { origin = ms }
            return ms - origin
        }
        guard !looksISO else {
            throw TraceError(line: line, message: "time \(Self.quoted(text)) is an ISO-8601 time, but the first line's is seconds")
        }
        guard let ms = Self.milliseconds(text) else {
            throw TraceError(line: line, message: "time \(Self.quoted(text)) is not seconds (such as 15 or 2.5) or an ISO-8601 time")
        }
        return ms
    }

    /// `15`, `2.5`, `0.001` seconds in milliseconds (rounded to the nearest); nil when not that
    /// or more than 10¹² seconds.
    static func milliseconds(_ text: UnsafeRawBufferPointer) -> Int64? {
        var whole: Int64 = 0
        var i = 0
        while i < text.count, text[i] &- 48 < 10 {
            whole = whole * 10 + Int64(text[i] - 48)
            guard whole <= 1_000_000_000_000 else { return nil }
            i += 1
        }
        guard i > 0 else { return nil }
        var ms = whole * 1000
        if i < text.count {
            guard text[i] == UInt8(ascii: "."), i + 1 < text.count else { return nil }
            i += 1
            var places = 0
            var roundUp = false
            while i < text.count, text[i] &- 48 < 10 {
                let digit = Int64(text[i] - 48)
                if places == 0 { ms += digit * 100 } else if places == 1 { ms += digit * 10 } else if places == 2 { ms += digit } else if places == 3 { roundUp = digit >= 5 }
                places += 1
                i += 1
            }
            guard i == text.count else { return nil }
            if roundUp { ms += 1 }
        }
        return ms
    }

    private static let powersOfTen: [Double] = (0...22).map { (0..<$0).reduce(1.0) { r, _ in r * 10 } }

    /// A decimal number (`12`, `0.5`, `1e3`, `-2`; not `.5`, `inf` or `nan`) as `Double(String)`
    /// reads it; the common short forms without making a string.
    static func number(_ text: UnsafeRawBufferPointer) -> Double? {
        var i = 0
        var negative = false
        if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") { negative = text[i] == UInt8(ascii: "-"); i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        let intStart = i
        while i < text.count, text[i] &- 48 < 10 {
            if digits < 19 { mantissa = mantissa * 10 + UInt64(text[i] - 48); if mantissa > 0 { digits += 1 } } else { exponent += 1 }
            i += 1
        }
        guard i > intStart else { return nil }
        if i < text.count, text[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < text.count, text[i] &- 48 < 10 {
                if digits < 19 { mantissa = mantissa * 10 + UInt64(text[i] - 48); if mantissa > 0 { digits += 1 }; exponent -= 1 }
                i += 1
            }
            guard i > fracStart else { return nil }
        }
        if i < text.count, text[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") { expNegative = text[i] == UInt8(ascii: "-"); i += 1 }
            var e = 0
            let expStart = i
            while i < text.count, text[i] &- 48 < 10 {
                if e < 100_000 { e = e * 10 + Int(text[i] - 48) }
                i += 1
            }
            guard i > expStart else { return nil }
            exponent += expNegative ? -e : e
        }
        guard i == text.count else { return nil }
        if digits <= 15, abs(exponent) <= 22 {
            // Both exact in a Double: one correctly rounded operation (Clinger's fast path).
            let value = exponent < 0 ? Double(mantissa) / powersOfTen[-exponent] : Double(mantissa) * powersOfTen[exponent]
            return negative ? -value : value
        }
        return Double(String(decoding: text, as: UTF8.self))
    }

    /// `bytes` is `word` (lowercase ASCII letters) in any case.
    private static func isWord(_ bytes: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        bytes.count == word.utf8CodeUnitCount && zip(bytes, UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)).allSatisfy { $0 | 0x20 == $1 }
    }

    /// A field or line as a message shows it: quoted, at most 40 bytes, controls as `?`.
    static func quoted(_ bytes: UnsafeRawBufferPointer) -> String {
        let shown = bytes.prefix(40).map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }
        return "'" + String(decoding: shown, as: UTF8.self) + (bytes.count > 40 ? "…" : "") + "'"
    }
}

extension UnsafeRawBufferPointer {
    /// Without leading and trailing spaces, tabs and carriage returns.
    fileprivate var trimmed: UnsafeRawBufferPointer {
        var lower = startIndex, upper = endIndex
        while lower < upper, self[lower] == 0x20 || self[lower] == 0x09 || self[lower] == 0x0D { lower += 1 }
        while upper > lower, self[upper - 1] == 0x20 || self[upper - 1] == 0x09 || self[upper - 1] == 0x0D { upper -= 1 }
        return UnsafeRawBufferPointer(rebasing: self[lower..<upper])
    }
}
