import KumoEvents

/// Reads an Amazon EventBridge event pattern: the YAML becomes JSON and KumoEvents checks it, so the
/// manifest, the runtime's bus and `kumo events test-pattern` agree on what a pattern means.
extension Reader {
    /// A pattern object; every problem is reported at the node its key path names.
    mutating func eventPattern(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> Pattern? {
        guard node.isMapping else {
            mismatch(node, path(), ctx(), expected: "an event pattern (a mapping of fields to lists of values)")
            return nil
        }
        let json = Reader.patternJSON(node)
        let problems = Pattern.problems(in: json)
        guard !problems.isEmpty else { return try? Pattern(json: json) }
        for problem in problems {
            var target = node, keyNode: NodeRef?
            var keyPath = path()
            for component in problem.path {
                switch component {
                case .key(let key):
                    guard let pair = target.pairs?.last(where: { $0.key.scalar?.equals(key) == true }) else { break }
                    (keyNode, target) = (pair.key, pair.value)
                    keyPath = keyPath / key
                case .index(let i):
                    guard let items = target.items, i < items.count else { break }
                    (keyNode, target) = (nil, items[i])
                    keyPath = keyPath / i
                }
            }
            var message = "in the pattern of \(ctx()): \(problem.message)"
            if let op = problem.unknownOperator {
                message += Suggestion.suffix(op, in: problem.knownOperators)
                target = keyNode ?? target
            }
            error("invalid-pattern", message, target, keyPath)
        }
        return nil
    }

    /// YAML as JSON: null, plain `true`/`false` and plain numbers (``Reader/parseNumber(_:)``) are
    /// typed; every other scalar, quoted ones included, is a string.
    static func patternJSON(_ node: NodeRef) -> JSON {
        switch node.kind {
        case .mapping(let pairs):
            return .object(pairs.map { (key: $0.key.scalar!.text, value: patternJSON($0.value)) })
        case .sequence(let items):
            return .array(items.map(patternJSON))
        case .scalar(let s):
            if s.isNull { return .null }
            if s.style == .plain && s.tag == nil {
                if s.text == "true" { return .bool(true) }
                if s.text == "false" { return .bool(false) }
                if let n = Reader.parseNumber(s.text) { return .number(n, text: s.text) }
            }
            return .string(s.text)
        }
    }
}
