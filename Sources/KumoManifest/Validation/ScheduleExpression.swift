/// Checks AWS schedule expressions: `rate(5 minutes)` and six-field `cron(…)` with its `?` rule.
public enum ScheduleExpression {
    /// Returns nil when valid, else what is wrong.
    public static func problem(in expression: String) -> String? {
        if expression.hasPrefix("rate(") && expression.hasSuffix(")") {
            return rateProblem(String(expression.dropFirst(5).dropLast()))
        }
        if expression.hasPrefix("cron(") && expression.hasSuffix(")") {
            return cronProblem(String(expression.dropFirst(5).dropLast()))
        }
        return "expected rate(VALUE UNIT) or cron(MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR)"
    }

    static func rateProblem(_ body: String) -> String? {
        let parts = body.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let value = number(parts[0]) else {
            return "rate(...) takes a positive whole number and a unit, as in rate(5 minutes)"
        }
        guard value > 0 else { return "the rate value must be positive, got \(value)" }
        let unit = String(parts[1])
        let singular = ["minute", "hour", "day"]
        let plural = ["minutes", "hours", "days"]
        if value == 1 {
            if singular.contains(unit) { return nil }
            if plural.contains(unit) { return "a rate of 1 takes the singular unit: rate(1 \(unit.dropLast()))" }
        } else {
            if plural.contains(unit) { return nil }
            if singular.contains(unit) { return "a rate above 1 takes the plural unit: rate(\(value) \(unit)s)" }
        }
        return "unknown rate unit '\(unit)'; expected minute(s), hour(s) or day(s)"
    }

    /// Digits only: AWS takes no sign and no spaces inside a number.
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.utf8.allSatisfy(ASCII.isDigit) else { return nil }
        return Int(text)
    }

    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String]
        /// The special characters the field allows, as ASCII bytes.
        let specials: [UInt8]

        func allows(_ special: Unicode.Scalar) -> Bool { specials.contains(UInt8(ascii: special)) }
    }

    private static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    private static let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    private static let fields: [Field] = [
        Field(name: "minutes", range: 0...59, names: [], specials: []),
        Field(name: "hours", range: 0...23, names: [], specials: []),
        Field(name: "day-of-month", range: 1...31, names: [], specials: Array("?LW".utf8)),
        Field(name: "month", range: 1...12, names: months, specials: []),
        Field(name: "day-of-week", range: 1...7, names: days, specials: Array("?L#".utf8)),
        Field(name: "year", range: 1970...2199, names: [], specials: []),
    ]

    static func cronProblem(_ body: String) -> String? {
        let parts = body.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 6 else {
            return "cron(...) takes six fields (minutes hours day-of-month month day-of-week year), got \(parts.count)"
        }
        for (field, text) in zip(fields, parts) {
            if let problem = fieldProblem(text, field) { return problem }
        }
        let dom = parts[2], dow = parts[4]
        if (dom == "?") == (dow == "?") {
            return "exactly one of day-of-month and day-of-week must be '?' (got '\(dom)' and '\(dow)')"
        }
        return nil
    }

    private static func value(_ text: Substring, _ field: Field) -> Int? {
        if let n = number(text), field.range.contains(n) { return n }
        guard !field.names.isEmpty, text.utf8.count == 3 else { return nil }
        if let i = field.names.firstIndex(where: { $0.utf8.elementsEqual(text.utf8.lazy.map { $0 & 0xDF }) }) { return i + 1 }
        return nil
    }

    private static func fieldProblem(_ text: String, _ field: Field) -> String? {
        if text == "*" { return nil }
        // Most fields are valid: build the message only when one is not.
        var bad: String { "invalid \(field.name) field '\(text)'" }
        if text == "?" { return field.allows("?") ? nil : "\(bad): '?' is only allowed in day-of-month and day-of-week" }
        if let n = number(Substring(text)), field.range.contains(n) { return nil }
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            if element.isEmpty { return "\(bad): empty list element" }
            if field.allows("L") {
                if field.name == "day-of-month", element == "L" || element == "LW" { continue }
                if field.name == "day-of-week", element == "L" { continue }
                if field.name == "day-of-week", element.hasSuffix("L"), value(element.dropLast(), field) != nil { continue }
            }
            if field.allows("W"), element.hasSuffix("W"), let n = number(element.dropLast()), field.range.contains(n) { continue }
            if field.allows("#") {
                let hash = element.split(separator: "#", omittingEmptySubsequences: false)
                if hash.count == 2 {
                    if value(hash[0], field) != nil, let k = number(hash[1]), (1...5).contains(k) { continue }
                    return "\(bad): '#' takes a day and an occurrence from 1 to 5, as in 3#2"
                }
            }
            let step = element.split(separator: "/", omittingEmptySubsequences: false)
            if step.count > 2 { return bad }
            if step.count == 2 {
                guard (number(step[1]) ?? 0) > 0 else { return "\(bad): the step after '/' must be a positive number" }
            }
            let base = step[0]
            if base == "*" { continue }
            let span = base.split(separator: "-", omittingEmptySubsequences: false)
            if span.count > 2 { return bad }
            for endpoint in span where value(endpoint, field) == nil {
                let names = field.names.isEmpty ? "" : " or \(field.names.first!)-\(field.names.last!)"
                return "\(bad): '\(endpoint)' is not in \(field.range.lowerBound)-\(field.range.upperBound)\(names)"
            }
        }
        return nil
    }
}
