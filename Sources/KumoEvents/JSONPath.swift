/// The JSONPath subset EventBridge evaluates in `InputPath` and `InputPathsMap`: `$`, dotted
/// names (`$.detail.order-id`), indices (`$.items[0]`) and quoted names (`$['a b']`).
/// Wildcards are refused.
struct JSONPath: Sendable, Equatable {
    enum Step: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    var steps: [Step]

    init(parsing text: String) throws(TransformError) {
        let c = Array(text)
        guard c.first == "$" else { throw TransformError("expected a JSONPath starting with '$', got '\(text)'") }
        func bad(_ detail: String) -> TransformError { TransformError("invalid JSONPath '\(text)': \(detail)") }
        steps = []
        var i = 1
        while i < c.count {
            switch c[i] {
            case ".":
                i += 1
                let start = i
                while i < c.count, c[i] != ".", c[i] != "[" { i += 1 }
                guard i > start else { throw bad("a name must follow '.'") }
                let name = String(c[start..<i])
                if name == "*" { throw bad("wildcards are not supported") }
                steps.append(.key(name))
            case "[":
                i += 1
                if i < c.count, c[i] == "'" || c[i] == "\"" {
                    let quote = c[i]
                    i += 1
                    var name = ""
                    while i < c.count, c[i] != quote {
                        if c[i] == "\\", i + 1 < c.count { i += 1 }
                        name.append(c[i])
                        i += 1
                    }
                    guard i + 1 < c.count, c[i + 1] == "]" else { throw bad("a quoted name must end with \(quote)]") }
                    i += 2
                    steps.append(.key(name))
                } else {
                    let start = i
                    while i < c.count, c[i].isASCII, c[i].isNumber { i += 1 }
                    guard i > start, i < c.count, c[i] == "]", let n = Int(String(c[start..<i])) else {
                        if i < c.count, c[i] == "*" { throw bad("wildcards are not supported") }
                        throw bad("expected an index, as in [0], or a quoted name, as in ['a b']")
                    }
                    i += 1
                    steps.append(.index(n))
                }
            default:
                throw bad("expected '.' or '[' after '\(String(c[..<i]))'")
            }
        }
    }

    /// The value at the path, nil when the event has none there.
    func value(in json: JSON) -> JSON? {
        var current = json
        for step in steps {
            switch (step, current) {
            case (.key(let key), .object):
                guard let next = current[key] else { return nil }
                current = next
            case (.index(let i), .array(let items)):
                guard i < items.count else { return nil }
                current = items[i]
            default:
                return nil
            }
        }
        return current
    }
}
