/// A parsed six-field EventBridge cron expression: the minutes, hours, days, months and years it
/// fires on, in UTC.
///
/// Semantics (AWS "Cron expressions reference", which follows Quartz): day-of-week 1–7 is
/// SUN–SAT; ranges in the cyclic fields may wrap (`20-2` hours, `FRI-MON`); `a/s` steps from `a`
/// to the field's end; `L` is the month's last day, or alone in day-of-week Saturday (the last
/// day of the week); `nL` the month's last weekday `n`; `nW` the weekday nearest day `n`, never
/// crossing into another month (and no fire in a month without day `n`); `LW` the month's last
/// weekday; `n#k` the k-th weekday `n` (no fire in a month without one). `L`, `W` and `#` stand
/// alone in their field.
struct Cron: Sendable, Equatable {
    var minutes: Bits
    var hours: Bits
    var days: Days
    var months: Bits
    /// Years as offsets from 1970.
    var years: Bits

    enum Days: Sendable, Equatable {
        case ofMonth(MonthDays)
        case ofWeek(WeekDays)
    }

    struct MonthDays: Sendable, Equatable {
        var days = Bits()
        /// `L`.
        var last = false
        /// `LW`.
        var lastWeekday = false
        /// The `n` of each `nW`.
        var nearestWeekday = Bits()
    }

    struct WeekDays: Sendable, Equatable {
        var days = Bits()
        /// The weekdays of `nL`.
        var last = Bits()
        /// `n#k`: the weekday and its occurrence.
        var nth: (weekday: Int, occurrence: Int)?

        static func == (a: WeekDays, b: WeekDays) -> Bool {
            a.days == b.days && a.last == b.last && a.nth?.weekday == b.nth?.weekday && a.nth?.occurrence == b.nth?.occurrence
        }
    }

    /// 2200-01-01T00:00Z in minutes since the epoch: the year field ends before it.
    static let endOfYears = CivilDate(year: 2200, month: 1, day: 1).daysSinceEpoch * 1440

    // MARK: Next fire

    /// The first fire at or after `start` (minutes since the epoch, not negative), in minutes.
    /// Walks years, months and days that match, never single minutes: at most 230 × 12 × 31
    /// steps, so an impossible schedule ends with nil.
    func next(fromMinute start: Int) -> Int? {
        let startDay = start / 1440
        var date = CivilDate(daysSinceEpoch: startDay)
        var minuteOfDay = start % 1440
        while let offset = years.first(atLeast: date.year - 1970) {
            let year = offset + 1970
            if year != date.year { date = CivilDate(year: year, month: 1, day: 1); minuteOfDay = 0 }
            while let month = months.first(atLeast: date.month) {
                if month != date.month { date = CivilDate(year: year, month: month, day: 1); minuteOfDay = 0 }
                var matching = dayMask(year: year, month: month) >> UInt64(date.day)
                var day = date.day
                while matching != 0 {
                    let skip = matching.trailingZeroBitCount
                    if skip > 0 { minuteOfDay = 0 }
                    day += skip
                    if let time = time(atOrAfter: minuteOfDay) {
                        return CivilDate(year: year, month: month, day: day).daysSinceEpoch * 1440 + time
                    }
                    matching >>= UInt64(skip + 1)
                    day += 1
                    minuteOfDay = 0
                }
                guard month < 12 else { break }
                date = CivilDate(year: year, month: month + 1, day: 1)
                minuteOfDay = 0
            }
            date = CivilDate(year: year + 1, month: 1, day: 1)
            minuteOfDay = 0
        }
        return nil
    }

    /// The first hour and minute of the fields at or after `minuteOfDay`.
    func time(atOrAfter minuteOfDay: Int) -> Int? {
        let hour = minuteOfDay / 60
        if hours.contains(hour), let minute = minutes.first(atLeast: minuteOfDay % 60) { return hour * 60 + minute }
        if let next = hours.first(atLeast: hour + 1), next < 24, let minute = minutes.first(atLeast: 0) { return next * 60 + minute }
        return nil
    }

    /// The days of `month` that fire, as bits (bit d for day d).
    func dayMask(year: Int, month: Int) -> UInt64 {
        let length = CivilDate.length(ofMonth: month, in: year)
        let firstWeekday = CivilDate(year: year, month: month, day: 1).weekday
        func weekday(_ day: Int) -> Int { (firstWeekday - 1 + day - 1) % 7 + 1 }
        var mask: UInt64 = 0
        switch days {
        case .ofMonth(let spec):
            for day in 1...length where spec.days.contains(day) { mask |= 1 << UInt64(day) }
            if spec.last { mask |= 1 << UInt64(length) }
            if spec.lastWeekday {
                let last = weekday(length) == 7 ? length - 1 : weekday(length) == 1 ? length - 2 : length
                mask |= 1 << UInt64(last)
            }
            for day in 1...length where spec.nearestWeekday.contains(day) {
                var nearest = day
                switch weekday(day) {
                case 7: nearest = day == 1 ? 3 : day - 1  // Saturday: Friday, or Monday the 3rd
                case 1: nearest = day == length ? day - 2 : day + 1  // Sunday: Monday, or Friday
                default: break
                }
                mask |= 1 << UInt64(nearest)
            }
        case .ofWeek(let spec):
            for day in 1...length {
                let w = weekday(day)
                if spec.days.contains(w)
                    || (spec.last.contains(w) && day + 7 > length)
                    || (spec.nth.map { $0.weekday == w && (day - 1) / 7 + 1 == $0.occurrence } ?? false) {
                    mask |= 1 << UInt64(day)
                }
            }
        }
        return mask
    }
}

/// A set of small non-negative integers (below 256): a cron field's values.
struct Bits: Sendable, Equatable {
    private var words: [UInt64] = [0, 0, 0, 0]

    mutating func insert(_ value: Int) { words[value >> 6] |= 1 << UInt64(value & 63) }

    func contains(_ value: Int) -> Bool {
        value >= 0 && value < 256 && words[value >> 6] & (1 << UInt64(value & 63)) != 0
    }

    /// The smallest member not below `value`.
    func first(atLeast value: Int) -> Int? {
        var i = max(value, 0)
        while i < 256 {
            let word = words[i >> 6] >> UInt64(i & 63)
            if word != 0 { return i + word.trailingZeroBitCount }
            i = (i | 63) + 1
        }
        return nil
    }

    var isEmpty: Bool { first(atLeast: 0) == nil }
}
