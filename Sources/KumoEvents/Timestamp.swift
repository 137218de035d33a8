import Foundation

/// ISO-8601 UTC timestamps as EventBridge writes them: `2026-11-30T02:00:00Z`, whole seconds.
public enum Timestamp {
    /// The timestamp of `date`, rounded down to the second.
    public static func iso8601(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let d = CivilDate(daysSinceEpoch: days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let year = d.year >= 0 && d.year < 1000 ? String(repeating: "0", count: 4 - "\(d.year)".count) + "\(d.year)" : "\(d.year)"
        return "\(year)-\(two(d.month))-\(two(d.day))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (or a `±HH:MM` offset); nil when it is not one.
    public static func parse(_ text: String) -> Date? {
        guard let time = Array(text.utf8).withUnsafeBufferPointer(parse(utf8:)) else { return nil }
        return Date(timeIntervalSince1970: Double(time.seconds) + time.fraction)
    }

    /// ``parse(_:)`` on UTF-8 bytes, without a string or a date: whole seconds since the epoch
    /// and the fraction of a second (0 ≤ fraction < 1), as load traces read their times.
    public static func parse(utf8 b: UnsafeBufferPointer<UInt8>) -> (seconds: Int, fraction: Double)? {
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var n = 0
            for byte in b[start..<start + count] {
                guard byte >= 48 && byte <= 57 else { return nil }
                n = n * 10 + Int(byte - 48)
            }
            return n
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard let year = digits(0, 4), at(4, "-"), let month = digits(5, 2), at(7, "-"), let day = digits(8, 2),
              at(10, "T") || at(10, "t"), let hour = digits(11, 2), at(13, ":"), let minute = digits(14, 2),
              at(16, ":"), let second = digits(17, 2),
              (1...12).contains(month), day >= 1, day <= CivilDate.length(ofMonth: month, in: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        var i = 19
        var fraction = 0.0
        if at(i, ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 { fraction += Double(b[i] - 48) * scale; scale /= 10; i += 1 }
            guard i > start else { return nil }
        }
        var offset = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-"), let h = digits(i + 1, 2), at(i + 3, ":"), let m = digits(i + 4, 2), h < 24, m < 60 {
            offset = (h * 60 + m) * 60 * (at(i, "-") ? -1 : 1)
            i += 6
        } else { return nil }
        guard i == b.count else { return nil }
        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        return (days * 86_400 + hour * 3600 + minute * 60 + second - offset, fraction)
    }
}
