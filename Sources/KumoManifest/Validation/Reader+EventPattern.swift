/// Checks the shape of an Amazon EventBridge event pattern while converting it to an ``EventPattern``.
extension Reader {
    static let patternOperators = ["prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"]

    /// A pattern object: field names to lists of matchers or nested objects, and `$or`.
    mutating func eventPattern(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> EventPattern? {
        guard case .mapping(let pairs) = node.kind else {
            mismatch(node, path(), ctx(), expected: "an event pattern (a mapping of fields to lists of values)")
            return nil
        }
        if pairs.isEmpty {
            error("invalid-pattern", "the event pattern in \(ctx()) is empty; it would match nothing useful", node, path())
            return nil
        }
        var result: [(String, EventPattern)] = []
        var ok = true
        for pair in pairs {
            let key = pair.key.scalar!.text
            func p() -> KeyPath { path() / key }
            if key == "$or" {
                guard let items = pair.value.items, items.count >= 2 else {
                    error("invalid-pattern", "'$or' in \(ctx()) takes a list of at least two pattern objects", pair.value, p())
                    ok = false
                    continue
                }
                var alternatives: [EventPattern] = []
                for (i, item) in items.enumerated() {
                    if let alt = eventPattern(item, p() / i, ctx()) { alternatives.append(alt) } else { ok = false }
                }
                result.append((key, .array(alternatives)))
                continue
            }
            switch pair.value.kind {
            case .mapping:
                if let nested = eventPattern(pair.value, p(), ctx()) { result.append((key, nested)) } else { ok = false }
            case .sequence(let items):
                if items.isEmpty {
                    error("invalid-pattern", "the matcher list for '\(key)' in \(ctx()) is empty; give at least one value", pair.value, p())
                    ok = false
                    continue
                }
                var matchers: [EventPattern] = []
                for (i, item) in items.enumerated() {
                    if let m = matcher(item, p() / i, ctx(), field: key) { matchers.append(m) } else { ok = false }
                }
                result.append((key, .array(matchers)))
            case .scalar:
                error("invalid-pattern", "'\(key)' in the pattern of \(ctx()): expected a list of values (write [\(pair.value.scalar?.text.truncatedForMessage ?? "")]) or a nested object, got \(pair.value.typeDescription)", pair.value, p())
                ok = false
            }
        }
        return ok ? .object(result) : nil
    }

    /// A pattern leaf: a JSON scalar, or an object with exactly one operator.
    private mutating func patternScalar(_ node: NodeRef) -> EventPattern? {
        guard case .scalar(let s) = node.kind else { return nil }
        if s.isNull { return .null }
        if s.style == .plain && s.tag == nil {
            if s.text == "true" { return .bool(true) }
            if s.text == "false" { return .bool(false) }
            if let n = Reader.parseNumber(s.text) { return .number(n, text: s.text) }
        }
        return .string(s.text)
    }

    private mutating func matcher(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, field: String) -> EventPattern? {
        switch node.kind {
        case .scalar:
            return patternScalar(node)
        case .sequence:
            error("invalid-pattern", "nested lists are not allowed in the matcher list of '\(field)' in \(ctx())", node, path())
            return nil
        case .mapping(let pairs):
            guard pairs.count == 1, let pair = pairs.first else {
                error("invalid-pattern", "a matcher object in \(ctx()) must have exactly one operator (\(Reader.patternOperators.joined(separator: ", "))), got \(pairs.count)", node, path())
                return nil
            }
            let op = pair.key.scalar!.text
            func p() -> KeyPath { path() / op }
            guard let value = operatorValue(op, pair.value, p(), ctx(), key: pair.key) else { return nil }
            return .object([(op, value)])
        }
    }

    private mutating func patternString(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, op: String) -> EventPattern? {
        guard case .scalar(let s) = node.kind, !s.isNull else {
            error("invalid-pattern", "'\(op)' in \(ctx()) takes a string, got \(node.typeDescription)", node, path())
            return nil
        }
        return .string(s.text)
    }

    private mutating func operatorValue(_ op: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, key: NodeRef) -> EventPattern? {
        switch op {
        case "prefix", "suffix":
            if case .mapping(let pairs) = node.kind {
                guard pairs.count == 1, pairs[0].key.scalar!.text == "equals-ignore-case" else {
                    error("invalid-pattern", "'\(op)' in \(ctx()) takes a string or { equals-ignore-case: STRING }", node, path())
                    return nil
                }
                guard let inner = patternString(pairs[0].value, path() / "equals-ignore-case", ctx(), op: "equals-ignore-case") else { return nil }
                return .object([("equals-ignore-case", inner)])
            }
            return patternString(node, path(), ctx(), op: op)
        case "equals-ignore-case":
            return patternString(node, path(), ctx(), op: op)
        case "wildcard":
            guard let value = patternString(node, path(), ctx(), op: op) else { return nil }
            if case .string(let s) = value, s.contains("**") {
                error("invalid-pattern", "'wildcard' in \(ctx()): consecutive '*' characters are not allowed", node, path())
                return nil
            }
            return value
        case "exists":
            guard case .scalar(let s) = node.kind, s.style == .plain, s.text == "true" || s.text == "false" else {
                error("invalid-pattern", "'exists' in \(ctx()) takes true or false, got \(node.typeDescription)", node, path())
                return nil
            }
            return .bool(s.text == "true")
        case "cidr":
            guard let value = patternString(node, path(), ctx(), op: op), case .string(let s) = value else { return nil }
            guard Reader.isCIDR(s) else {
                error("invalid-pattern", "'cidr' in \(ctx()): '\(s.truncatedForMessage)' is not an IPv4 or IPv6 CIDR block such as 10.0.0.0/24", node, path())
                return nil
            }
            return value
        case "numeric":
            return numeric(node, path(), ctx())
        case "anything-but":
            return anythingBut(node, path(), ctx())
        default:
            error("invalid-pattern", "unknown pattern operator '\(op)' in \(ctx())\(Suggestion.suffix(op, in: Reader.patternOperators))", key, path())
            return nil
        }
    }

    private mutating func anythingBut(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> EventPattern? {
        switch node.kind {
        case .scalar:
            return patternScalar(node)
        case .sequence(let items):
            guard !items.isEmpty else {
                error("invalid-pattern", "'anything-but' in \(ctx()) takes a non-empty list", node, path())
                return nil
            }
            var values: [EventPattern] = []
            var sawString = false, sawNumber = false
            for (i, item) in items.enumerated() {
                guard let v = patternScalar(item) else {
                    error("invalid-pattern", "'anything-but' in \(ctx()) takes a list of strings or a list of numbers, got \(item.typeDescription)", item, path() / i)
                    return nil
                }
                if case .number = v { sawNumber = true } else { sawString = true }
                values.append(v)
            }
            if sawString && sawNumber {
                error("invalid-pattern", "'anything-but' in \(ctx()) takes either strings or numbers, not both", node, path())
                return nil
            }
            return .array(values)
        case .mapping(let pairs):
            let allowed = ["prefix", "suffix", "equals-ignore-case", "wildcard"]
            guard pairs.count == 1, let pair = pairs.first, allowed.contains(pair.key.scalar!.text) else {
                let op = pairs.first?.key.scalar?.text ?? ""
                error("invalid-pattern", "'anything-but' in \(ctx()) takes a value, a list, or one of { prefix | suffix | equals-ignore-case | wildcard: … }, got '\(op)'\(Suggestion.suffix(op, in: allowed))", node, path())
                return nil
            }
            let op = pair.key.scalar!.text
            if let items = pair.value.items, op == "equals-ignore-case" || op == "wildcard" {
                var values: [EventPattern] = []
                for (i, item) in items.enumerated() {
                    guard let v = patternString(item, path() / op / i, ctx(), op: op) else { return nil }
                    values.append(v)
                }
                return .object([(op, .array(values))])
            }
            guard let v = patternString(pair.value, path() / op, ctx(), op: op) else { return nil }
            return .object([(op, v)])
        }
    }

    /// `numeric: [">", 0, "<=", 5]` — one comparison, or a lower then an upper bound.
    private mutating func numeric(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> EventPattern? {
        let usage = "'numeric' in \(ctx()) takes [OPERATOR, NUMBER] or [\">\"|\">=\", LOW, \"<\"|\"<=\", HIGH]"
        guard let items = node.items, items.count == 2 || items.count == 4 else {
            error("invalid-pattern", usage, node, path())
            return nil
        }
        var result: [EventPattern] = []
        var operators: [String] = []
        var numbers: [Double] = []
        for i in stride(from: 0, to: items.count, by: 2) {
            guard let op = items[i].scalar?.text, ["=", "<", "<=", ">", ">="].contains(op) else {
                error("invalid-pattern", "\(usage); '\(items[i].scalar?.text ?? "")' is not one of =, <, <=, >, >=", items[i], path() / i)
                return nil
            }
            guard let s = items[i + 1].scalar, s.style == .plain, let n = Reader.parseNumber(s.text) else {
                error("invalid-pattern", "'numeric' in \(ctx()): expected a number after '\(op)', got \(items[i + 1].typeDescription)", items[i + 1], path() / (i + 1))
                return nil
            }
            guard abs(n) <= 5e9 else {
                error("invalid-pattern", "'numeric' in \(ctx()): \(s.text) is outside the range EventBridge compares (-5e9 to 5e9)", items[i + 1], path() / (i + 1))
                return nil
            }
            operators.append(op)
            numbers.append(n)
            result.append(.string(op))
            result.append(.number(n, text: s.text))
        }
        if operators.count == 2 {
            guard operators[0].hasPrefix(">"), operators[1].hasPrefix("<") else {
                error("invalid-pattern", "'numeric' range in \(ctx()) must give the lower bound ('>' or '>=') first and the upper bound ('<' or '<=') second", node, path())
                return nil
            }
            guard numbers[0] < numbers[1] else {
                error("invalid-pattern", "'numeric' range in \(ctx()) is empty: \(Reader.format(numbers[0])) is not below \(Reader.format(numbers[1]))", node, path())
                return nil
            }
        }
        return .array(result)
    }

    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]) else { return false }
        let address = parts[0]
        if address.contains(":") {
            guard (0...128).contains(bits) else { return false }
            let halves = address.splitting(on: "::")
            guard halves.count <= 2 else { return false }
            let groups = halves.flatMap { $0.isEmpty ? [] : $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
            guard groups.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return false }
            return halves.count == 2 ? groups.count < 8 : groups.count == 8
        }
        guard (0...32).contains(bits) else { return false }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { o in
            guard let v = Int(o), (0...255).contains(v), o.count <= 3 else { return false }
            return true
        }
    }
}

extension StringProtocol {
    func splitting(on separator: String) -> [String] {
        var result: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            result.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        result.append(String(rest))
        return result
    }
}
