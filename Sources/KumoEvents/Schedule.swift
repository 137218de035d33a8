import Foundation

/// An AWS schedule expression: `rate(N unit)` or six-field `cron(min hour dom month dow year)`,
/// evaluated in UTC.
///
/// Parsing checks everything EventBridge checks (and refuses a day-of-month that no selected
/// month has, such as `cron(0 0 30 FEB ? *)`, which would never fire). A parsed schedule is an
/// immutable value, safe to share between tasks.
public struct Schedule: Sendable, Equatable {
    /// The expression as written.
    public let expression: String
    let kind: Kind

    enum Kind: Sendable, Equatable {
        /// Every so many seconds from the schedule's creation.
        case rate(seconds: Int)
        case cron(Cron)
    }

    public init(parsing expression: String) throws(ScheduleError) {
        self.expression = expression
        if expression.hasPrefix("rate(") && expression.hasSuffix(")") {
            kind = .rate(seconds: try Self.rateSeconds(expression.dropFirst(5).dropLast()))
        } else if expression.hasPrefix("cron(") && expression.hasSuffix(")") {
            kind = .cron(try Cron(parsing: expression.dropFirst(5).dropLast()))
        } else {
            throw ScheduleError(field: nil, message: "expected rate(VALUE UNIT) or cron(MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR)")
        }
    }

    /// The first fire time strictly after `date`. For `rate`, fires fall at `created` +
    /// k·interval (k ≥ 1); `cron` ignores `created`. Nil when the schedule never fires again
    /// (a year field that has ended).
    public func next(after date: Date, created: Date) -> Date? {
        switch kind {
        case .rate(let seconds):
            let interval = Double(seconds)
            let elapsed = date.timeIntervalSince(created)
            guard elapsed.isFinite else { return nil }
            let k = elapsed < 0 ? 1 : (elapsed / interval).rounded(.down) + 1
            let fire = created.addingTimeInterval(k * interval)
            // Rounding can land a fire exactly on `date`; the next one is then the answer.
            return fire > date ? fire : fire.addingTimeInterval(interval)
        case .cron(let cron):
            let seconds = date.timeIntervalSince1970
            guard seconds < Double(Cron.endOfYears) * 60 else { return nil }
            // Fires fall on whole minutes: the first one after `date`.
            let minute = seconds < 0 ? 0 : Int((seconds / 60).rounded(.down)) + 1
            return cron.next(fromMinute: minute).map { Date(timeIntervalSince1970: Double($0) * 60) }
        }
    }

    /// The next `count` fire times after `date`, fewer when the schedule ends.
    public func fires(after date: Date, created: Date, count: Int) -> [Date] {
        var result: [Date] = []
        var last = date
        while result.count < count, let fire = next(after: last, created: created) {
            result.append(fire)
            last = fire
        }
        return result
    }

    /// `N unit` in seconds: a positive whole number, and the singular unit only for 1.
    static func rateSeconds(_ body: Substring) throws(ScheduleError) -> Int {
        func fail(_ message: String) -> ScheduleError { ScheduleError(field: nil, message: message) }
        let parts = body.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let value = Cron.number(parts[0]) else {
            throw fail("rate(...) takes a positive whole number and a unit, as in rate(5 minutes)")
        }
        guard value > 0 else { throw fail("the rate value must be positive, got \(value)") }
        let units = ["minute": 60, "hour": 3600, "day": 86_400]
        let unit = String(parts[1])
        if value == 1 {
            if let seconds = units[unit] { return seconds }
            if unit.hasSuffix("s"), units[String(unit.dropLast())] != nil { throw fail("a rate of 1 takes the singular unit: rate(1 \(unit.dropLast()))") }
        } else {
            if unit.hasSuffix("s"), let seconds = units[String(unit.dropLast())] { return value * seconds }
            if units[unit] != nil { throw fail("a rate above 1 takes the plural unit: rate(\(value) \(unit)s)") }
        }
        throw fail("unknown rate unit '\(unit)'; expected minute(s), hour(s) or day(s)")
    }
}

public struct ScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The cron field at fault (`minutes`, `hours`, `day-of-month`, `month`, `day-of-week`,
    /// `year`), nil for the expression as a whole.
    public var field: String?
    public var message: String

    public init(field: String?, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
