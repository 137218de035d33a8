import Foundation
import Testing
@testable import KumoEvents

private func at(_ text: String) -> Date { Timestamp.parse(text)! }
private func next(_ expression: String, after: String, created: String = "2026-01-01T00:00:00Z") throws -> String? {
    try Schedule(parsing: expression).next(after: at(after), created: at(created)).map(Timestamp.iso8601)
}

@Suite struct ScheduleTests {
    /// (expression, after, the next fire or nil)
    static let cronCases: [(String, String, String?)] = [
        // Strictly after, on whole minutes.
        ("cron(0 12 * * ? *)", "2026-03-01T11:59:59Z", "2026-03-01T12:00:00Z"),
        ("cron(0 12 * * ? *)", "2026-03-01T12:00:00Z", "2026-03-02T12:00:00Z"),
        ("cron(* * * * ? *)", "2026-03-01T12:00:30Z", "2026-03-01T12:01:00Z"),
        ("cron(59 23 31 12 ? *)", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"),
        // Month ends and leap years.
        ("cron(0 0 L * ? *)", "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z"),
        ("cron(0 0 L * ? *)", "2024-02-01T00:00:00Z", "2024-02-29T00:00:00Z"),
        ("cron(0 0 L 2 ? *)", "2099-12-31T00:00:00Z", "2100-02-28T00:00:00Z"),
        ("cron(0 0 29 2 ? *)", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("cron(0 0 29 2 ? *)", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"),
        ("cron(0 0 29 2 ? *)", "2000-01-01T00:00:00Z", "2000-02-29T00:00:00Z"),
        ("cron(0 0 31 * ? *)", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"),
        // W: the nearest weekday, never leaving the month.
        ("cron(0 9 1W * ? *)", "2026-07-02T00:00:00Z", "2026-08-03T09:00:00Z"),  // Sat 1st → Mon 3rd
        ("cron(0 9 1W * ? *)", "2026-01-05T00:00:00Z", "2026-02-02T09:00:00Z"),  // Sun 1st → Mon 2nd
        ("cron(0 9 31W * ? *)", "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z"), // Sun 31st → Fri 29th
        ("cron(0 9 31W * ? *)", "2026-03-31T10:00:00Z", "2026-05-29T09:00:00Z"), // April has no 31st
        ("cron(0 9 15W * ? *)", "2026-08-01T00:00:00Z", "2026-08-14T09:00:00Z"), // Sat → Fri
        ("cron(0 9 15W * ? *)", "2026-11-01T00:00:00Z", "2026-11-16T09:00:00Z"), // Sun → Mon
        ("cron(0 9 15W * ? *)", "2026-03-31T00:00:00Z", "2026-04-15T09:00:00Z"), // a weekday stays
        ("cron(0 18 LW * ? *)", "2026-01-01T00:00:00Z", "2026-01-30T18:00:00Z"), // Sat 31st → Fri
        ("cron(0 18 LW * ? *)", "2026-05-01T00:00:00Z", "2026-05-29T18:00:00Z"), // Sun 31st → Fri
        ("cron(0 18 LW * ? *)", "2026-06-01T00:00:00Z", "2026-06-30T18:00:00Z"),
        // Day-of-week: L, nL, #.
        ("cron(15 10 ? * 6L *)", "2026-01-01T00:00:00Z", "2026-01-30T10:15:00Z"),
        ("cron(15 10 ? * FRIL *)", "2026-07-01T00:00:00Z", "2026-07-31T10:15:00Z"),
        ("cron(0 0 ? * L *)", "2026-03-02T00:00:00Z", "2026-03-07T00:00:00Z"),    // L alone: Saturday
        ("cron(0 8 ? * 3#2 *)", "2026-03-01T00:00:00Z", "2026-03-10T08:00:00Z"),
        ("cron(0 8 ? * MON#1 *)", "2026-03-03T00:00:00Z", "2026-04-06T08:00:00Z"),
        ("cron(0 0 ? * 5#5 *)", "2026-01-01T00:00:00Z", "2026-01-29T00:00:00Z"),
        ("cron(0 0 ? FEB 1#5 *)", "2026-01-01T00:00:00Z", "2032-02-29T00:00:00Z"),
        ("cron(0 18 ? * MON-FRI *)", "2026-03-06T18:00:00Z", "2026-03-09T18:00:00Z"),
        ("cron(0 0 ? * FRI-MON *)", "2026-03-03T00:00:00Z", "2026-03-06T00:00:00Z"),
        ("cron(0 0 ? * 1 *)", "2026-03-02T00:00:00Z", "2026-03-08T00:00:00Z"),     // 1 is Sunday
        // Steps, ranges, lists, names, wrapping ranges.
        ("cron(0/15 * * * ? *)", "2026-03-01T10:07:00Z", "2026-03-01T10:15:00Z"),
        ("cron(*/5 * * * ? *)", "2026-03-01T10:58:00Z", "2026-03-01T11:00:00Z"),
        ("cron(10-50/10 * * * ? *)", "2026-03-01T10:51:00Z", "2026-03-01T11:10:00Z"),
        ("cron(1/10 * * * ? *)", "2026-03-01T10:01:00Z", "2026-03-01T10:11:00Z"),
        ("cron(5,35 14 * * ? *)", "2026-03-01T14:05:00Z", "2026-03-01T14:35:00Z"),
        ("cron(0/30 20-2 * * ? *)", "2026-03-02T23:45:00Z", "2026-03-03T00:00:00Z"),
        ("cron(0/30 20-2 * * ? *)", "2026-03-03T02:31:00Z", "2026-03-03T20:00:00Z"),
        ("cron(0 0 1 NOV-FEB ? *)", "2026-02-02T00:00:00Z", "2026-11-01T00:00:00Z"),
        ("cron(15 10 ? jan,JUL * *)", "2026-01-31T10:15:00Z", "2026-07-01T10:15:00Z"),
        ("cron(0 0 1/10 * ? *)", "2026-03-21T00:00:00Z", "2026-03-31T00:00:00Z"),
        // The year field, and the end of a schedule.
        ("cron(0 0 1 1 ? 2030)", "2026-05-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        ("cron(0 0 1 1 ? 2025)", "2025-01-01T00:00:00Z", nil),
        ("cron(15 10 ? * 6L 2019-2022)", "2022-12-30T10:15:00Z", nil),
        ("cron(15 10 ? * 6L 2019-2022)", "2022-11-30T00:00:00Z", "2022-12-30T10:15:00Z"),
        ("cron(0 0 * * ? 2199)", "2199-12-31T00:00:00Z", nil),
        ("cron(0 0 * * ? *)", "2300-01-01T00:00:00Z", nil),
        ("cron(0 0 1 1 ? *)", "1960-06-01T00:00:00Z", "1970-01-01T00:00:00Z"),
    ]

    @Test(arguments: cronCases) func cronFiresNext(_ expression: String, _ after: String, _ expected: String?) throws {
        #expect(try next(expression, after: after) == expected)
    }

    @Test func cronIsUTCWhateverTheDaylightSaving() throws {
        // Europe and the US change clocks in March: a UTC schedule does not move.
        let schedule = try Schedule(parsing: "cron(0 2 * * ? *)")
        let fires = schedule.fires(after: at("2026-03-07T12:00:00Z"), created: at("2026-01-01T00:00:00Z"), count: 24)
        #expect(fires.first.map(Timestamp.iso8601) == "2026-03-08T02:00:00Z")
        #expect(zip(fires, fires.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 86_400 })
    }

    @Test func fasterThanWalkingMinutes() throws {
        // The whole year range, for schedules that rarely or never fire, stays quick.
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for expression in ["cron(0 0 29 2 ? *)", "cron(0 0 ? FEB 1#5 *)", "cron(59 23 31 DEC ? 2199)"] {
                let s = try Schedule(parsing: expression)
                #expect(s.fires(after: at("1970-01-01T00:00:00Z"), created: at("1970-01-01T00:00:00Z"), count: 1000).count > 0)
            }
        }
        #expect(elapsed < .seconds(2))
    }

    /// (expression, created, after, next)
    static let rateCases: [(String, String, String, String)] = [
        ("rate(5 minutes)", "2026-03-01T10:00:30Z", "2026-03-01T10:00:30Z", "2026-03-01T10:05:30Z"),
        ("rate(5 minutes)", "2026-03-01T10:00:30Z", "2026-03-01T10:05:30Z", "2026-03-01T10:10:30Z"),
        ("rate(5 minutes)", "2026-03-01T10:00:30Z", "2026-03-01T10:07:00Z", "2026-03-01T10:10:30Z"),
        ("rate(5 minutes)", "2026-03-01T10:00:30Z", "2026-03-01T09:00:00Z", "2026-03-01T10:05:30Z"),
        ("rate(1 minute)", "2026-03-01T10:00:00Z", "2026-03-01T10:00:59Z", "2026-03-01T10:01:00Z"),
        ("rate(1 hour)", "2026-03-01T10:20:00Z", "2026-03-02T00:00:00Z", "2026-03-02T00:20:00Z"),
        ("rate(12 hours)", "2026-03-01T10:20:00Z", "2026-03-01T22:20:00Z", "2026-03-02T10:20:00Z"),
        ("rate(1 day)", "2024-02-28T06:00:00Z", "2024-02-28T06:00:00Z", "2024-02-29T06:00:00Z"),
        ("rate(7 days)", "2026-03-01T00:00:00Z", "2026-03-29T23:00:00Z", "2026-04-05T00:00:00Z"),
    ]

    @Test(arguments: rateCases) func rateFiresFromCreation(_ expression: String, _ created: String, _ after: String, _ expected: String) throws {
        #expect(try next(expression, after: after, created: created) == expected)
    }

    /// (expression, field, message)
    static let invalid: [(String, String?, String)] = [
        ("every 5 minutes", nil, "expected rate(VALUE UNIT) or cron(MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR)"),
        ("rate(0 hours)", nil, "the rate value must be positive, got 0"),
        ("rate(1 minutes)", nil, "a rate of 1 takes the singular unit: rate(1 minute)"),
        ("rate(2 hour)", nil, "a rate above 1 takes the plural unit: rate(2 hours)"),
        ("rate(5 fortnights)", nil, "unknown rate unit 'fortnights'; expected minute(s), hour(s) or day(s)"),
        ("rate(-5 minutes)", nil, "rate(...) takes a positive whole number and a unit, as in rate(5 minutes)"),
        ("cron(0 12 * * ?)", nil, "cron(...) takes six fields (minutes hours day-of-month month day-of-week year), got 5"),
        ("cron(60 12 * * ? *)", "minutes", "invalid minutes field '60': '60' is not in 0-59"),
        ("cron(0 24 * * ? *)", "hours", "invalid hours field '24': '24' is not in 0-23"),
        ("cron(0 12 32 * ? *)", "day-of-month", "invalid day-of-month field '32': '32' is not in 1-31"),
        ("cron(0 12 * 13 ? *)", "month", "invalid month field '13': '13' is not in 1-12 or JAN-DEC"),
        ("cron(0 12 ? * 8 *)", "day-of-week", "invalid day-of-week field '8': '8' is not in 1-7 or SUN-SAT"),
        ("cron(0 12 * * ? 2200)", "year", "invalid year field '2200': '2200' is not in 1970-2199"),
        ("cron(0 12 * * ? 2030-2020)", "year", "invalid year field '2030-2020': the range 2030-2020 runs backwards"),
        ("cron(? 12 * * ? *)", "minutes", "invalid minutes field '?': '?' is only allowed in day-of-month and day-of-week"),
        ("cron(0,,5 12 * * ? *)", "minutes", "invalid minutes field '0,,5': empty list element"),
        ("cron(0/0 12 * * ? *)", "minutes", "invalid minutes field '0/0': the step after '/' must be a positive number"),
        ("cron(0 12 ? * MON/2 *)", "day-of-week", "invalid day-of-week field 'MON/2': '/' is not allowed in day-of-week"),
        ("cron(0 12 * * * *)", "day-of-week", "exactly one of day-of-month and day-of-week must be '?' (got '*' and '*')"),
        ("cron(0 12 ? * ? *)", "day-of-month", "exactly one of day-of-month and day-of-week must be '?' (got '?' and '?')"),
        ("cron(0 12 ? * 2#6 *)", "day-of-week", "invalid day-of-week field '2#6': '#' takes a day and an occurrence from 1 to 5, as in 3#2"),
        ("cron(0 12 ? * 3#1,6#3 *)", "day-of-week", "invalid day-of-week field '3#1,6#3': '#' allows a single expression in day-of-week, as in 3#2"),
        ("cron(0 12 ? * 1-5L *)", "day-of-week", "invalid day-of-week field '1-5L': 'L' stands alone in day-of-week, after at most one day, as in 6L"),
        ("cron(0 12 1,15W * ? *)", "day-of-month", "invalid day-of-month field '1,15W': 'W' takes a single day, not a list or range"),
        ("cron(0 12 L,15 * ? *)", "day-of-month", "invalid day-of-month field 'L,15': 'L', 'LW' and 'W' stand alone in day-of-month, not in a list or range"),
        ("cron(0 12 0W * ? *)", "day-of-month", "invalid day-of-month field '0W': 'W' follows a day from 1 to 31, as in 15W"),
        // Never fires: refused rather than searched for.
        ("cron(0 0 31 2 ? *)", "day-of-month", "invalid day-of-month field '31': the selected months have at most 29 days, so the schedule would never fire"),
        ("cron(0 0 30 FEB ? *)", "day-of-month", "invalid day-of-month field '30': the selected months have at most 29 days, so the schedule would never fire"),
        ("cron(0 0 31W APR,JUN ? *)", "day-of-month", "invalid day-of-month field '31W': the selected months have at most 30 days, so the schedule would never fire"),
    ]

    @Test(arguments: invalid) func invalidExpressionsNameTheField(_ expression: String, _ field: String?, _ message: String) {
        #expect(throws: ScheduleError(field: field, message: message)) { try Schedule(parsing: expression) }
    }

    @Test func validExpressionsParse() throws {
        for expression in ["cron(0 0 31 1,2 ? *)", "cron(0 0 29 FEB ? *)", "cron(15 10 ? JAN,JUL * 2025)", "cron(0/5 8-17 ? * 2-6 *)",
                           "cron(0 0 1,15 JAN-MAR ? 2024-2030)", "cron(0 0 L 2 ? *)", "rate(999 days)"] {
            _ = try Schedule(parsing: expression)
        }
    }
}
