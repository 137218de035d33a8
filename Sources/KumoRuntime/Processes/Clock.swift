import Foundation

/// Wall-clock text for logs and events, formatted by hand: Foundation's formatters go through
/// ICU and cost more than the rest of an invocation's bookkeeping.
enum WallClock {
    static func parts(_ date: Date = Date()) -> (tm, Int) {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var fields = tm()
        gmtime_r(&seconds, &fields)
        return (fields, Int((interval - interval.rounded(.down)) * 1000))
    }

    /// Milliseconds since the epoch.
    static func milliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    static func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// `2026-11-27T13:40:00.123Z`
    static func iso8601(_ date: Date = Date()) -> String {
        let (t, ms) = parts(date)
        let millis = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)).\(millis)Z"
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `27/Nov/2026:13:40:00 +0000`, API Gateway's `requestContext.time`.
    static func apiGateway(_ date: Date = Date()) -> String {
        let (t, _) = parts(date)
        return "\(two(t.tm_mday))/\(months[Int(t.tm_mon)])/\(t.tm_year + 1900):\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) +0000"
    }
}
