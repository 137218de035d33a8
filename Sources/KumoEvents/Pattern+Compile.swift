/// Checks a pattern's JSON and compiles it into a ``PatternNode``; each problem comes with the
/// key path to it (every check the manifest validator made, same meanings).
struct PatternCompiler {
    static let operators = ["prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"]
    static let anythingButOperators = ["prefix", "suffix", "equals-ignore-case", "wildcard"]
    static let comparisons = ["=", "<", "<=", ">", ">="]
    /// EventBridge compares numbers in this range only.
    static let numericLimit = 5e9

    typealias Pairs = [(key: String, value: JSON)]

    static func compile(_ json: JSON) throws(PatternError) -> PatternNode {
        var problems: [PatternError] = []
        let root = compile(json, problems: &problems)
        if let first = problems.first { throw first }
        return root!
    }

    /// The compiled pattern, or nil with every problem found (each field and matcher is checked
    /// even when an earlier one failed).
    static func compile(_ json: JSON, problems: inout [PatternError]) -> PatternNode? {
        guard case .object(let pairs) = json else {
            problems.append(PatternError(path: [], message: "an event pattern is a JSON object of fields to lists of values, got \(json.typeDescription)"))
            return nil
        }
        return node(pairs, at: [], problems: &problems)
    }

    static func node(_ pairs: Pairs, at path: [PathComponent], problems: inout [PatternError]) -> PatternNode? {
        if pairs.isEmpty {
            problems.append(PatternError(path: path, message: path.isEmpty ? "the event pattern is empty; it would match nothing useful" : "the nested pattern is empty; it would match nothing useful"))
            return nil
        }
        let before = problems.count
        var items: [PatternNode.Item] = []
        var seen = Set<String>()
        for (key, value) in pairs {
            let p = path + [.key(key)]
            guard seen.insert(key).inserted else {
                problems.append(PatternError(path: p, message: "'\(key)' appears twice in the same object"))
                continue
            }
            if key == "$or" {
                guard case .array(let alternatives) = value, alternatives.count >= 2 else {
                    problems.append(PatternError(path: p, message: "'$or' takes a list of at least two pattern objects"))
                    continue
                }
                var nodes: [PatternNode] = []
                for (i, alternative) in alternatives.enumerated() {
                    guard case .object(let altPairs) = alternative else {
                        problems.append(PatternError(path: p + [.index(i)], message: "'$or' takes a list of at least two pattern objects, got \(alternative.typeDescription)"))
                        continue
                    }
                    if let n = node(altPairs, at: p + [.index(i)], problems: &problems) { nodes.append(n) }
                }
                items.append(.or(nodes))
                continue
            }
            switch value {
            case .object(let nested):
                if let n = node(nested, at: p, problems: &problems) { items.append(.field(key: key, .nested(n))) }
            case .array(let matchers):
                if matchers.isEmpty {
                    problems.append(PatternError(path: p, message: "the matcher list for '\(key)' is empty; give at least one value"))
                    continue
                }
                var conditions: [Condition] = []
                for (i, matcher) in matchers.enumerated() {
                    do { conditions.append(try condition(matcher, at: p + [.index(i)], field: key)) } catch { problems.append(error) }
                }
                items.append(.field(key: key, .leaf(conditions, source: value)))
            default:
                problems.append(PatternError(path: p, message: "'\(key)': expected a list of values (write [\(value.compactText.truncated)]) or a nested object, got \(value.typeDescription)"))
            }
        }
        return problems.count == before ? PatternNode(items: items) : nil
    }

    static func exact(_ value: JSON) -> Condition? {
        switch value {
        case .string(let s): .string(s)
        case .number(let n, _): .number(n)
        case .bool(let b): .bool(b)
        case .null: .null
        case .array, .object: nil
        }
    }

    static func condition(_ matcher: JSON, at path: [PathComponent], field: String) throws(PatternError) -> Condition {
        switch matcher {
        case .array:
            throw PatternError(path: path, message: "nested lists are not allowed in the matcher list of '\(field)'")
        case .object(let pairs):
            guard pairs.count == 1, let (op, value) = pairs.first else {
                throw PatternError(path: path, message: "a matcher object must have exactly one operator (\(operators.joined(separator: ", "))), got \(pairs.count)")
            }
            return try operatorCondition(op, value, at: path + [.key(op)])
        default:
            return exact(matcher)!
        }
    }

    static func string(_ value: JSON, at path: [PathComponent], op: String) throws(PatternError) -> String {
        guard case .string(let s) = value else { throw PatternError(path: path, message: "'\(op)' takes a string, got \(value.typeDescription)") }
        return s
    }

    /// A string or a non-empty list of strings (the list forms of `anything-but`).
    static func strings(_ value: JSON, at path: [PathComponent], op: String) throws(PatternError) -> [String] {
        guard case .array(let items) = value else { return [try string(value, at: path, op: op)] }
        guard !items.isEmpty else { throw PatternError(path: path, message: "'\(op)' takes a string or a non-empty list of strings") }
        var result: [String] = []
        for (i, item) in items.enumerated() { result.append(try string(item, at: path + [.index(i)], op: op)) }
        return result
    }

    static func wildcard(_ text: String, at path: [PathComponent]) throws(PatternError) -> Wildcard {
        switch Wildcard.parse(text) {
        case .success(let w): return w
        case .failure(.consecutiveStars): throw PatternError(path: path, message: "'wildcard': consecutive '*' characters are not allowed")
        case .failure(.badEscape): throw PatternError(path: path, message: "'wildcard': a backslash may only escape '*' or '\\'")
        }
    }

    static func operatorCondition(_ op: String, _ value: JSON, at path: [PathComponent]) throws(PatternError) -> Condition {
        switch op {
        case "prefix", "suffix":
            var text: String
            var ignoreCase = false
            if case .object(let pairs) = value {
                guard pairs.count == 1, pairs[0].key == "equals-ignore-case" else {
                    throw PatternError(path: path, message: "'\(op)' takes a string or {\"equals-ignore-case\": STRING}")
                }
                text = try string(pairs[0].value, at: path + [.key("equals-ignore-case")], op: "equals-ignore-case").lowercased()
                ignoreCase = true
            } else {
                text = try string(value, at: path, op: op)
            }
            return op == "prefix" ? .prefix(text, ignoreCase: ignoreCase) : .suffix(text, ignoreCase: ignoreCase)
        case "equals-ignore-case":
            return .equalsIgnoreCase(try string(value, at: path, op: op).lowercased())
        case "wildcard":
            return .wildcard(try wildcard(try string(value, at: path, op: op), at: path))
        case "exists":
            guard case .bool(let b) = value else { throw PatternError(path: path, message: "'exists' takes true or false, got \(value.typeDescription)") }
            return .exists(b)
        case "cidr":
            let text = try string(value, at: path, op: op)
            guard let block = CIDR(text) else {
                throw PatternError(path: path, message: "'cidr': '\(text.truncated)' is not an IPv4 or IPv6 CIDR block such as 10.0.0.0/24")
            }
            return .cidr(block)
        case "numeric":
            return .numeric(try numeric(value, at: path))
        case "anything-but":
            return .anythingBut(try anythingBut(value, at: path))
        default:
            var error = PatternError(path: path, message: "unknown pattern operator '\(op.truncated)'")
            error.unknownOperator = op
            error.knownOperators = operators
            throw error
        }
    }

    static func anythingBut(_ value: JSON, at path: [PathComponent]) throws(PatternError) -> AnythingBut {
        switch value {
        case .array(let items):
            guard !items.isEmpty else { throw PatternError(path: path, message: "'anything-but' takes a non-empty list") }
            var values: [Condition] = []
            var sawString = false, sawNumber = false
            for (i, item) in items.enumerated() {
                guard let c = exact(item) else {
                    throw PatternError(path: path + [.index(i)], message: "'anything-but' takes a list of strings or a list of numbers, got \(item.typeDescription)")
                }
                if case .number = c { sawNumber = true } else { sawString = true }
                values.append(c)
            }
            if sawString && sawNumber { throw PatternError(path: path, message: "'anything-but' takes either strings or numbers, not both") }
            return AnythingBut(kind: .values(values))
        case .object(let pairs):
            guard pairs.count == 1, let (op, inner) = pairs.first, anythingButOperators.contains(op) else {
                let op = pairs.first?.key ?? ""
                var error = PatternError(path: path, message: "'anything-but' takes a value, a list, or one of {prefix | suffix | equals-ignore-case | wildcard: …}, got '\(op.truncated)'")
                if pairs.count == 1 {
                    error.unknownOperator = op
                    error.knownOperators = anythingButOperators
                }
                throw error
            }
            let texts = try strings(inner, at: path + [.key(op)], op: op)
            switch op {
            case "prefix": return AnythingBut(kind: .prefix(texts))
            case "suffix": return AnythingBut(kind: .suffix(texts))
            case "equals-ignore-case": return AnythingBut(kind: .equalsIgnoreCase(texts.map { $0.lowercased() }))
            default:
                var wildcards: [Wildcard] = []
                for (i, text) in texts.enumerated() {
                    wildcards.append(try wildcard(text, at: inner.isArray ? path + [.key(op), .index(i)] : path + [.key(op)]))
                }
                return AnythingBut(kind: .wildcard(wildcards))
            }
        default:
            return AnythingBut(kind: .values([exact(value)!]))
        }
    }

    /// `[">", 0, "<=", 5]`: one comparison, or a lower then an upper bound, within ±5e9.
    static func numeric(_ value: JSON, at path: [PathComponent]) throws(PatternError) -> NumericRange {
        let usage = "'numeric' takes [OPERATOR, NUMBER] or [\">\"|\">=\", LOW, \"<\"|\"<=\", HIGH]"
        guard case .array(let items) = value, items.count == 2 || items.count == 4 else {
            throw PatternError(path: path, message: usage)
        }
        var operators: [String] = []
        var numbers: [(value: Double, text: String)] = []
        for i in stride(from: 0, to: items.count, by: 2) {
            guard case .string(let op) = items[i], comparisons.contains(op) else {
                let shown: String = if case .string(let s) = items[i] { s.truncated } else { items[i].compactText.truncated }
                throw PatternError(path: path + [.index(i)], message: "\(usage); '\(shown)' is not one of =, <, <=, >, >=")
            }
            guard case .number(let n, let text) = items[i + 1] else {
                throw PatternError(path: path + [.index(i + 1)], message: "'numeric': expected a number after '\(op)', got \(items[i + 1].typeDescription)")
            }
            guard abs(n) <= numericLimit else {
                throw PatternError(path: path + [.index(i + 1)], message: "'numeric': \(text) is outside the range EventBridge compares (-5e9 to 5e9)")
            }
            operators.append(op)
            numbers.append((n, text))
        }
        var range = NumericRange()
        if operators.count == 2 {
            guard operators[0].hasPrefix(">"), operators[1].hasPrefix("<") else {
                throw PatternError(path: path, message: "'numeric' range must give the lower bound ('>' or '>=') first and the upper bound ('<' or '<=') second")
            }
            guard numbers[0].value < numbers[1].value else {
                throw PatternError(path: path, message: "'numeric' range is empty: \(numbers[0].text) is not below \(numbers[1].text)")
            }
        }
        for (op, n) in zip(operators, numbers) {
            switch op {
            case "=": range = NumericRange(lower: n.value, lowerInclusive: true, upper: n.value, upperInclusive: true)
            case ">": range.lower = n.value; range.lowerInclusive = false
            case ">=": range.lower = n.value; range.lowerInclusive = true
            case "<": range.upper = n.value; range.upperInclusive = false
            default: range.upper = n.value; range.upperInclusive = true
            }
        }
        return range
    }
}

extension JSON {
    /// How messages name a value: `the string "x"`, `the number 5`, `true`, `null`, `a list`, `an object`.
    public var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(_, let text): "the number \(text.truncated)"
        case .string(let s): "the string \"\(s.truncated)\""
        case .array: "a list"
        case .object: "an object"
        }
    }

    var isArray: Bool {
        if case .array = self { return true }
        return false
    }
}

extension String {
    /// At most 40 characters, for messages.
    var truncated: String { count > 40 ? prefix(37) + "..." : self }
}
