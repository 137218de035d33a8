extension Cron {
    /// One of the six fields: its name in messages, its values and what it allows.
    struct Field: Sendable {
        let name: String
        let range: ClosedRange<Int>
        let names: [String]
        /// Whether a backward range wraps around (`20-2` hours); years do not.
        let cyclic: Bool
        /// Whether `/` steps are allowed (not in day-of-week, as AWS documents).
        let steps: Bool

        static let minutes = Field(name: "minutes", range: 0...59, names: [], cyclic: true, steps: true)
        static let hours = Field(name: "hours", range: 0...23, names: [], cyclic: true, steps: true)
        static let dayOfMonth = Field(name: "day-of-month", range: 1...31, names: [], cyclic: true, steps: true)
        static let month = Field(name: "month", range: 1...12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], cyclic: true, steps: true)
        static let dayOfWeek = Field(name: "day-of-week", range: 1...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], cyclic: true, steps: false)
        static let year = Field(name: "year", range: 1970...2199, names: [], cyclic: false, steps: true)

        /// Where the values are kept in ``Bits`` (years from 1970).
        var origin: Int { range.lowerBound > 100 ? range.lowerBound : 0 }

        func error(_ text: Substring, _ detail: String? = nil) -> ScheduleError {
            ScheduleError(field: name, message: "invalid \(name) field '\(text)'" + (detail.map { ": \($0)" } ?? ""))
        }

        /// A number in range, or (month, day-of-week) a three-letter name in any case.
        func value(_ text: Substring) -> Int? {
            if let n = Cron.number(text) { return range.contains(n) ? n : nil }
            let upper = text.uppercased()
            return names.firstIndex(of: upper).map { $0 + 1 }
        }
    }

    init(parsing body: Substring) throws(ScheduleError) {
        let parts = body.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 6 else {
            throw ScheduleError(field: nil, message: "cron(...) takes six fields (minutes hours day-of-month month day-of-week year), got \(parts.count)")
        }
        minutes = try Self.values(parts[0], .minutes)
        hours = try Self.values(parts[1], .hours)
        let monthDays = parts[2] == "?" ? nil : try Self.monthDays(parts[2])
        months = try Self.values(parts[3], .month)
        let weekDays = parts[4] == "?" ? nil : try Self.weekDays(parts[4])
        years = try Self.values(parts[5], .year)
        switch (monthDays, weekDays) {
        case (let spec?, nil):
            days = .ofMonth(spec)
            try Self.checkOccurs(spec, parts[2], in: months)
        case (nil, let spec?):
            days = .ofWeek(spec)
        default:
            throw ScheduleError(field: parts[2] == "?" ? "day-of-month" : "day-of-week", message: "exactly one of day-of-month and day-of-week must be '?' (got '\(parts[2])' and '\(parts[4])')")
        }
    }

    /// Digits only: AWS takes no sign and no spaces inside a number.
    static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }

    /// A field of values, ranges and steps.
    static func values(_ text: Substring, _ field: Field) throws(ScheduleError) -> Bits {
        if text == "?" { throw field.error(text, "'?' is only allowed in day-of-month and day-of-week") }
        var bits = Bits()
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            try insert(element, of: text, field, into: &bits)
        }
        return bits
    }

    /// `*`, `v`, `a-b`, each optionally `/step`.
    static func insert(_ element: Substring, of text: Substring, _ field: Field, into bits: inout Bits) throws(ScheduleError) {
        if element.isEmpty { throw field.error(text, "empty list element") }
        let step = element.split(separator: "/", omittingEmptySubsequences: false)
        guard step.count <= 2 else { throw field.error(text) }
        var stride = 1
        if step.count == 2 {
            guard field.steps else { throw field.error(text, "'/' is not allowed in \(field.name)") }
            guard let n = number(step[1]), n > 0 else { throw field.error(text, "the step after '/' must be a positive number") }
            stride = n
        }
        var first = field.range.lowerBound, last = field.range.upperBound
        if step[0] != "*" {
            let span = step[0].split(separator: "-", omittingEmptySubsequences: false)
            guard span.count <= 2 else { throw field.error(text) }
            var ends: [Int] = []
            for endpoint in span {
                guard let v = field.value(endpoint) else {
                    let names = field.names.isEmpty ? "" : " or \(field.names.first!)-\(field.names.last!)"
                    throw field.error(text, "'\(endpoint)' is not in \(field.range.lowerBound)-\(field.range.upperBound)\(names)")
                }
                ends.append(v)
            }
            first = ends[0]
            // `a/s` runs from a to the field's end; a lone `a` is just a.
            last = ends.count == 2 ? ends[1] : step.count == 2 ? field.range.upperBound : ends[0]
        }
        if first > last && !field.cyclic { throw field.error(text, "the range \(step[0]) runs backwards") }
        // A backward range wraps: 20-2 is 20…23 then 0…2.
        let count = first <= last ? last - first + 1 : field.range.count - (first - last) + 1
        for i in Swift.stride(from: 0, to: count, by: stride) {
            let v = first + i > field.range.upperBound ? first + i - field.range.count : first + i
            bits.insert(v - field.origin)
        }
    }

    /// Day-of-month: values, or alone `L`, `LW` or `nW`.
    static func monthDays(_ text: Substring) throws(ScheduleError) -> MonthDays {
        let field = Field.dayOfMonth
        if text == "L" { return MonthDays(last: true) }
        if text == "LW" { return MonthDays(lastWeekday: true) }
        if text.hasSuffix("W") {
            guard let n = number(text.dropLast()), field.range.contains(n) else {
                throw field.error(text, text.contains(",") || text.contains("-") ? "'W' takes a single day, not a list or range" : "'W' follows a day from 1 to 31, as in 15W")
            }
            var spec = MonthDays()
            spec.nearestWeekday.insert(n)
            return spec
        }
        if text.contains("L") || text.contains("W") {
            throw field.error(text, "'L', 'LW' and 'W' stand alone in day-of-month, not in a list or range")
        }
        return MonthDays(days: try values(text, field))
    }

    /// Day-of-week: values, or alone `L` (Saturday), `nL` or `n#k`.
    static func weekDays(_ text: Substring) throws(ScheduleError) -> WeekDays {
        let field = Field.dayOfWeek
        var spec = WeekDays()
        if text == "L" {
            spec.days.insert(7)
            return spec
        }
        if text.contains("#") {
            let hash = text.split(separator: "#", omittingEmptySubsequences: false)
            guard hash.count == 2, let day = field.value(hash[0]), let k = number(hash[1]), (1...5).contains(k) else {
                if text.contains(",") { throw field.error(text, "'#' allows a single expression in day-of-week, as in 3#2") }
                throw field.error(text, "'#' takes a day and an occurrence from 1 to 5, as in 3#2")
            }
            spec.nth = (day, k)
            return spec
        }
        if text.hasSuffix("L"), let day = field.value(text.dropLast()) {
            spec.last.insert(day)
            return spec
        }
        if text.contains("L") {
            throw field.error(text, "'L' stands alone in day-of-week, after at most one day, as in 6L")
        }
        spec.days = try values(text, field)
        return spec
    }

    /// Refuses day-of-month values that none of the months has (`30 FEB`): such a schedule
    /// would never fire.
    static func checkOccurs(_ spec: MonthDays, _ text: Substring, in months: Bits) throws(ScheduleError) {
        guard !spec.last, !spec.lastWeekday,
              let smallest = [spec.days.first(atLeast: 0), spec.nearestWeekday.first(atLeast: 0)].compactMap({ $0 }).min()
        else { return }
        // The longest each month can be (February in a leap year).
        let longest = (1...12).filter(months.contains).map { CivilDate.length(ofMonth: $0, in: 2000) }.max() ?? 31
        if smallest > longest {
            throw Field.dayOfMonth.error(text, "the selected months have at most \(longest) days, so the schedule would never fire")
        }
    }
}
