import KumoEvents

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
        for (key, kind) in [("input", InputTransform.constant), ("inputPath", InputTransform.path)] {
            guard let n = f[key] else { continue }
            guard let s = string(n, path() / key, ctx()) else { ok = false; continue }
            do throws(TransformError) {
                try kind(s).check()
                if key == "input" { target.input = s } else { target.inputPath = s }
            } catch let problem {
                error("invalid-value", "'\(key)' in \(tctx()): \(problem.message)", n, path() / key)
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
            if entries.count > InputTransform.maximumPathsMapEntries {
                error("out-of-range", "\(ictx()): at most \(InputTransform.maximumPathsMapEntries) entries in inputPathsMap, got \(entries.count)", n, path() / "inputPathsMap")
                ok = false
            }
            for pair in entries {
                let key = pair.key.scalar!.text
                func p() -> KeyPath { path() / "inputPathsMap" / key }
                declared.insert(key)
                do throws(TransformError) { try InputTransform.checkName(key) } catch let problem {
                    error("invalid-name", "\(ictx()): \(problem.message)", pair.key, p())
                    ok = false
                    continue
                }
                guard let value = string(pair.value, p(), ictx()) else { ok = false; continue }
                do throws(TransformError) { try InputTransform.checkPath(value) } catch let problem {
                    error("invalid-value", "'\(key)' in \(ictx()): \(problem.message)", pair.value, p())
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
                for placeholder in InputTransform.placeholders(in: t) where !declared.contains(placeholder) && !InputTransform.reservedPlaceholders.contains(placeholder) {
                    error("unresolved-reference", "placeholder '<\(placeholder)>' in \(ictx()) is not defined in inputPathsMap\(Suggestion.suffix(placeholder, in: map.keys))", n, path() / "inputTemplate")
                    ok = false
                }
                // The rest of the rules (reserved placeholders, length) where the parts are sound.
                if ok {
                    do throws(TransformError) { try InputTransform.template(pathsMap: map, template: t).check() } catch let problem {
                        error("invalid-value", "'inputTemplate' in \(ictx()): \(problem.message)", n, path() / "inputTemplate")
                        ok = false
                    }
                }
            } else { ok = false }
        } else { ok = false }
        return ok ? RuleTarget.InputTransformer(inputPathsMap: map, inputTemplate: template) : nil
    }
}
