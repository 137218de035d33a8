import KumoEvents

extension Rule {
    /// Placeholders EventBridge fills in an input template without an inputPathsMap entry.
    static let predefinedPlaceholders = ["aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time", "aws.events.event", "aws.events.event.json"]
}

/// A rule target as read, with the node naming it, for the reference check.
struct TargetReference: Sendable {
    var address: String
    var node: NodeRef
    /// Where the name is within its rule: `targets[target].field`.
    var target: Int
    var field: String

    /// The key path of the name, given its rule's.
    func keyPath(in rule: KeyPath) -> KeyPath { rule / "targets" / target / field }
}

extension Reader {
    mutating func rule(_ name: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath) -> (Rule, references: [TargetReference])? {
        func ctx() -> String { "rule '\(name)'" }
        guard let f = mapping(node, path(), ctx(), keys: Rule.keys) else { return nil }
        var ok = true
        var references: [TargetReference] = []
        var rule = Rule(name: name, enabled: Rule.defaultEnabled, pattern: nil, schedule: nil, targets: [], retryPolicy: .default, deadLetter: Rule.defaultDeadLetter, range: node.range)
        if let n = f["description"] { rule.description = string(n, path() / "description", ctx()) }
        if let n = f["enabled"] {
            if let v = bool(n, path() / "enabled", ctx()) { rule.enabled = v } else { ok = false }
        }
        if let n = f["pattern"] {
            if let p = eventPattern(n, path() / "pattern", ctx()) { rule.pattern = p } else { ok = false }
        }
        if let n = f["schedule"] {
            if let text = string(n, path() / "schedule", ctx()), let schedule = schedule(text, n, path() / "schedule", ctx()) {
                rule.schedule = schedule
            } else { ok = false }
        }
        if !f.has("pattern") && !f.has("schedule") {
            error("missing-key", "\(ctx()) needs 'pattern' (the events it matches), 'schedule' (when it fires), or both", node, path())
            ok = false
        }
        if let n = required(f, "targets", path(), ctx()) {
            if let items = list(n, path() / "targets", ctx()) {
                if items.isEmpty {
                    error("empty-list", "'targets' in \(ctx()): expected at least one target", n, path() / "targets")
                    ok = false
                }
                for (i, item) in items.enumerated() {
                    if let (target, ref) = ruleTarget(item, path() / "targets" / i, index: i, ctx()) {
                        rule.targets.append(target)
                        references.append(ref)
                    } else { ok = false }
                }
            } else { ok = false }
        } else { ok = false }
        if let n = f["retryPolicy"] {
            func p() -> KeyPath { path() / "retryPolicy" }
            if let r = mapping(n, p(), "the retryPolicy of \(ctx())", keys: Rule.RetryPolicy.keys) {
                if let a = r["maximumRetryAttempts"] {
                    if let v = int(a, p() / "maximumRetryAttempts", ctx(), in: Rule.RetryPolicy.retryAttemptsRange) { rule.retryPolicy.maximumRetryAttempts = v } else { ok = false }
                }
                if let a = r["maximumEventAge"] {
                    if let v = duration(a, p() / "maximumEventAge", ctx(), in: Rule.RetryPolicy.eventAgeRange) { rule.retryPolicy.maximumEventAge = v } else { ok = false }
                }
            } else { ok = false }
        }
        if let n = f["deadLetter"] {
            if let v = bool(n, path() / "deadLetter", ctx()) { rule.deadLetter = v } else { ok = false }
        }
        // A resource with errors is still returned: cross-checks (references, ports, cycles)
        // then report their problems too, so every error surfaces in one run.
        assert(ok || sink.hasErrors || quietErrors > 0, "a field failed without a diagnostic")
        return (rule, references)
    }

    private mutating func ruleTarget(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, index: Int, _ ctx: @autoclosure () -> String) -> (RuleTarget, TargetReference)? {
        func tctx() -> String { "a target of \(ctx())" }
        guard let f = mapping(node, path(), tctx(), keys: RuleTarget.keys) else { return nil }
        let kinds = ["function", "service"].filter { f.has($0) }
        guard kinds.count == 1, let kindName = kinds.first, let kind = RuleTarget.Kind(rawValue: kindName), let nameNode = f[kindName] else {
            error("invalid-target", "\(tctx()) needs exactly one of 'function' or 'service'", node, path())
            return nil
        }
        guard let name = string(nameNode, path() / kindName, ctx()) else { return nil }
        var target = RuleTarget(kind: kind, name: name)
        var ok = true
        if let n = f["path"] {
            if kind == .function {
                error("unused-key", "'path' in \(tctx()) only applies to service targets", n, path() / "path")
                ok = false
            } else if let p = string(n, path() / "path", ctx()) {
                if p.hasPrefix("/") { target.path = p } else {
                    error("invalid-value", "'path' in \(tctx()): expected a path starting with '/', got '\(p.truncatedForMessage)'", n, path() / "path")
                    ok = false
                }
            } else { ok = false }
        }
        let inputs = ["inputTransformer", "input", "inputPath"].filter { f.has($0) }
        if inputs.count > 1 {
            error("invalid-target", "\(tctx()) may use only one of 'inputTransformer', 'input' or 'inputPath', got \(inputs.map { "'\($0)'" }.joined(separator: " and "))", node, path())
            ok = false
        }
        if let n = f["input"] {
            if let s = string(n, path() / "input", ctx()) {
                if Reader.isJSON(s) { target.input = s } else {
                    error("invalid-value", "'input' in \(tctx()): expected a JSON text, got '\(s.truncatedForMessage)'", n, path() / "input")
                    ok = false
                }
            } else { ok = false }
        }
        if let n = f["inputPath"] {
            if let s = string(n, path() / "inputPath", ctx()), s.hasPrefix("$") { target.inputPath = s } else {
                error("invalid-value", "'inputPath' in \(tctx()): expected a JSONPath starting with '$'", n, path() / "inputPath")
                ok = false
            }
        }
        if let n = f["inputTransformer"] {
            if let t = inputTransformer(n, path() / "inputTransformer", tctx()) { target.inputTransformer = t } else { ok = false }
        }
        guard ok else { return nil }
        return (target, TargetReference(address: target.address, node: nameNode, target: index, field: kindName))
    }

    private mutating func inputTransformer(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> RuleTarget.InputTransformer? {
        func ictx() -> String { "the inputTransformer of \(ctx())" }
        guard let f = mapping(node, path(), ictx(), keys: RuleTarget.InputTransformer.keys) else { return nil }
        var ok = true
        var map: [String: String] = [:]
        // Placeholders declared in the map, valid or not: a bad JSONPath is reported once, at the map.
        var declared: Set<String> = []
        if let n = f["inputPathsMap"] {
            let entries = namedEntries(n, path() / "inputPathsMap", ictx())
            if entries.count > 100 {
                error("out-of-range", "\(ictx()): at most 100 entries in inputPathsMap, got \(entries.count)", n, path() / "inputPathsMap")
                ok = false
            }
            for pair in entries {
                let key = pair.key.scalar!.text
                func p() -> KeyPath { path() / "inputPathsMap" / key }
                declared.insert(key)
                guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }), !key.hasPrefix("aws.") else {
                    error("invalid-name", "'\(key.truncatedForMessage)' in \(ictx()) is not a valid placeholder name (letters, digits, '_', '-', not starting with 'aws.')", pair.key, p())
                    ok = false
                    continue
                }
                guard let value = string(pair.value, p(), ictx()) else { ok = false; continue }
                guard value.hasPrefix("$") else {
                    error("invalid-value", "'\(key)' in \(ictx()): expected a JSONPath starting with '$', got '\(value.truncatedForMessage)'", pair.value, p())
                    ok = false
                    continue
                }
                map[key] = value
            }
        }
        var template = ""
        if let n = required(f, "inputTemplate", path(), ictx()) {
            if let t = string(n, path() / "inputTemplate", ictx()) {
                template = t
                for placeholder in Reader.placeholders(in: t) where !declared.contains(placeholder) && !Rule.predefinedPlaceholders.contains(placeholder) {
                    error("unresolved-reference", "placeholder '<\(placeholder)>' in \(ictx()) is not defined in inputPathsMap\(Suggestion.suffix(placeholder, in: map.keys))", n, path() / "inputTemplate")
                    ok = false
                }
            } else { ok = false }
        } else { ok = false }
        return ok ? RuleTarget.InputTransformer(inputPathsMap: map, inputTemplate: template) : nil
    }

    /// The `<name>` placeholders of an input template.
    static func placeholders(in template: String) -> [String] {
        var result: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: ">") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) {
                result.append(String(name))
            }
            rest = after[after.index(after: close)...]
        }
        return result
    }

    static func isJSON(_ text: String) -> Bool {
        var parser = JSONSyntax(Array(text.utf8))
        return parser.document()
    }
}

/// A small JSON syntax checker (no values built); depth-limited so it cannot overflow the stack.
struct JSONSyntax {
    let bytes: [UInt8]
    var i = 0
    var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() -> Bool {
        skip()
        guard value() else { return false }
        skip()
        return i == bytes.count
    }

    mutating func skip() {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
    }

    mutating func literal(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { return false }
        i += w.count
        return true
    }

    mutating func value() -> Bool {
        guard i < bytes.count else { return false }
        switch bytes[i] {
        case UInt8(ascii: "{"): return container(close: UInt8(ascii: "}"), keyed: true)
        case UInt8(ascii: "["): return container(close: UInt8(ascii: "]"), keyed: false)
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    mutating func container(close: UInt8, keyed: Bool) -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth < 128 else { return false }
        i += 1
        skip()
        if i < bytes.count, bytes[i] == close { i += 1; return true }
        while true {
            skip()
            if keyed {
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), string() else { return false }
                skip()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
                i += 1
                skip()
            }
            guard value() else { return false }
            skip()
            guard i < bytes.count else { return false }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == close { i += 1; return true }
            return false
        }
    }

    mutating func string() -> Bool {
        i += 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""): i += 1; return true
            case UInt8(ascii: "\\"):
                guard i + 1 < bytes.count else { return false }
                let escape = bytes[i + 1]
                if escape == UInt8(ascii: "u") {
                    guard i + 5 < bytes.count, bytes[(i + 2)...(i + 5)].allSatisfy(ASCII.isHexDigit) else { return false }
                    i += 6
                } else {
                    guard "\"\\/bfnrt".utf8.contains(escape) else { return false }
                    i += 2
                }
            case 0..<32: return false
            default: i += 1
            }
        }
        return false
    }

    /// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func number() -> Bool {
        func digits() -> Int {
            let start = i
            while i < bytes.count, ASCII.isDigit(bytes[i]) { i += 1 }
            return i - start
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, ASCII.isDigit(bytes[i]) else { return false }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { _ = digits() }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return true
    }
}

