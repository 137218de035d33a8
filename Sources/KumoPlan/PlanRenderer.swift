import Foundation
import KumoManifest

/// Text and Markdown forms of a plan, for people: Terraform's shape, Kumo's estimates.
public struct PlanRenderer: Sendable {
    public var color: Bool

    public init(color: Bool) {
        self.color = color
    }

    // MARK: Text

    public func text(_ plan: Plan) -> String {
        var out = ""
        for warning in plan.warnings { out += paint("Warning: ", .yellow, bold: true) + warning + "\n" }
        if !plan.warnings.isEmpty { out += "\n" }
        if !plan.targets.isEmpty {
            out += "Targeting \(plan.targets.joined(separator: ", ")) and what \(plan.targets.count == 1 ? "it depends" : "they depend") on.\n\n"
        }
        let actionable = plan.actionable
        if actionable.isEmpty {
            out += paint("No changes.", .green, bold: true) + " The state matches the manifest (project \(plan.project), stage \(plan.stage)).\n"
            if let cost = plan.cost { out += "\n" + costText(plan, cost) }
            return out
        }
        let used = PlanAction.allCases.filter { action in actionable.contains { $0.action == action } }
        out += "Kumo will perform these actions (project \(plan.project), stage \(plan.stage)). Symbols:\n"
        for action in used { out += "  " + paint(action.symbol, color(for: action)) + " " + legend(action) + "\n" }
        out += "\n"
        // Blocks are independent: a large plan renders them on every core.
        let renderer = self
        let blocks = Parallel.ranges(actionable.count, minimum: 400) { range in
            actionable[range].reduce(into: "") { $0 += renderer.block($1) + "\n" }
        }
        for text in blocks { out += text }
        out += paint(plan.summary, .none, bold: true) + "\n"
        if let estimate = plan.estimate { out += "\n" + rolloutText(estimate) }
        if let cost = plan.cost { out += "\n" + costText(plan, cost) }
        return out
    }

    func legend(_ action: PlanAction) -> String {
        switch action {
        case .create: "create"
        case .update: "update in place"
        case .replace: "replace (destroy, then create)"
        case .delete: "destroy"
        case .noop: "no change"
        }
    }

    func headline(_ change: ResourceChange) -> String {
        let what: String
        switch change.action {
        case .create: what = "will be created"
        case .update:
            switch change.update {
            case .scale?: what = "will be scaled in place"
            case .rolling?: what = "will be updated by a rolling update"
            case nil: what = "will be updated in place"
            }
        case .replace: what = "must be replaced"
        case .delete: what = "will be destroyed"
        case .noop: what = "is unchanged"
        }
        let reasons = change.reasons.isEmpty ? "" : " (" + change.reasons.joined(separator: "; ") + ")"
        return "# \(change.address) \(what)\(reasons), wave \(change.wave)"
    }

    func block(_ change: ResourceChange) -> String {
        var out = "  " + paint(headline(change), .none, bold: true) + "\n"
        let symbol = change.action.symbol
        out += (symbol.count == 1 ? "  " : " ") + paint(symbol, color(for: change.action)) + " " + change.address + "\n"
        var rows: [(String, String, String)] = []  // symbol, path, value text
        switch change.action {
        case .create:
            for (path, value) in PlanRenderer.leaves(change.after) { rows.append(("+", path, display(value, sensitive: FieldDiff.isSensitive(value)))) }
            if let hash = change.codeHashAfter { rows.append(("+", "code (hash)", Hashing.short(hash))) }
        case .delete:
            for (path, value) in PlanRenderer.leaves(change.before) { rows.append(("-", path, display(value, sensitive: FieldDiff.isSensitive(value)))) }
        case .update, .replace:
            for field in change.fields {
                let symbol = field.before == nil ? "+" : field.after == nil ? "-" : "~"
                var text: String
                let isHash = field.path == "code (hash)"
                func show(_ v: ConfigValue) -> String { isHash ? Hashing.short(v.stringValue ?? "") : display(v, sensitive: field.sensitive) }
                switch (field.before, field.after) {
                case (let b?, let a?): text = show(b) + " → " + show(a)
                case (nil, let a?): text = show(a)
                case (let b?, nil): text = show(b) + " → (removed)"
                case (nil, nil): text = ""
                }
                if field.forcesReplacement { text += paint("  # forces replacement", .red) }
                if change.update == .scale { text += "  (\(UpdateStrategy.scale.label))" }
                rows.append((symbol, field.path, text))
            }
        case .noop:
            break
        }
        let width = min(rows.map { $0.1.utf8.count }.max() ?? 0, 40)
        for (symbol, path, text) in rows {
            let length = path.utf8.count
            let padded = length < width ? path + String(repeating: " ", count: width - length) : path
            out += "      " + paint(symbol, symbol == "+" ? .green : symbol == "-" ? .red : .yellow) + " " + padded + " = " + text + "\n"
        }
        return out
    }

    public func rolloutText(_ estimate: RolloutEstimate) -> String {
        let c = estimate.coefficients
        var out = "Rollout estimate: " + PlanRenderer.seconds(estimate.seconds)
        if let error = estimate.error { out += " ± " + PlanRenderer.seconds(error) }
        out += " in \(estimate.waves.count) wave\(estimate.waves.count == 1 ? "" : "s") (parallelism \(estimate.parallelism))\n"
        func count(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        for wave in estimate.waves {
            var parts: [String] = []
            if wave.functions > 0 {
                var work = ["n = \(wave.workersStarted)"]
                if wave.workersStopped > 0 { work.append(count(wave.workersStopped, "worker stopped", "workers stopped")) }
                parts.append(count(wave.functions, "function", "functions") + " (" + work.joined(separator: ", ") + ")")
            }
            if wave.services > 0 {
                var work = ["m = \(wave.replicasStarted)"]
                if wave.replicasStopped > 0 { work.append(count(wave.replicasStopped, "replica stopped", "replicas stopped")) }
                parts.append(count(wave.services, "service", "services") + " (" + work.joined(separator: ", ") + ")")
            }
            if wave.rules > 0 { parts.append(count(wave.rules, "rule/policy", "rules/policies") + " (k = \(wave.rules))") }
            var time = PlanRenderer.seconds(wave.seconds)
            if let error = wave.error { time += " ± " + PlanRenderer.seconds(error) }
            out += "  wave \(wave.index): " + parts.joined(separator: ", ") + " — " + time + "\n"
        }
        func line(_ kind: Estimates.Kind) -> String {
            let l = c[kind]
            var text = PlanRenderer.formula(l, kind: kind) + " (\(l.source.rawValue)"
            if let error = l.error, let samples = l.samples { text += String(format: ", ±%.0f%% from %d samples", error * 100, samples) }
            return text + ")"
        }
        out += "  using " + line(.functions) + "; " + line(.services) + "; " + line(.rules) + "\n"
        out += "  n = warm workers started, m = replicas started (one at a time per service), k = registrations; q = min(parallelism, process starts the machine sustains); n/q and m/q at least 1\n"
        return out
    }

    /// `T(n) = 5ms + 110ms·n/q + 0.7ms·registrations + 0.5ms·removals + 4ms·stops/q, q = 2`;
    /// `E(k) = 2ms + 1ms·k`: a line as the plan and `kumo calibrate` print it.
    public static func formula(_ line: Estimates.Line, kind: Estimates.Kind) -> String {
        typealias L = Estimates.Line
        switch kind {
        case .rules:
            return "\(kind.symbol) = \(L.text(line.initialSeconds)) + \(L.text(line.eachSeconds))·k"
        case .functions, .services:
            return "\(kind.symbol) = \(L.text(line.initialSeconds)) + \(L.text(line.eachSeconds))·\(kind == .functions ? "n" : "m")/q"
                + " + \(L.text(line.registerSeconds))·registrations + \(L.text(line.removeSeconds))·removals"
                + " + \(L.text(line.stopSeconds))·stops/q, q = \(PlanRenderer.number(line.parallelism))"
        }
    }

    public func costText(_ plan: Plan, _ cost: CostSummary) -> String {
        var out = "Monthly cost (\(cost.pricing.region) list prices, USD): " + PlanRenderer.money(cost.before) + " → " + PlanRenderer.money(cost.after)
        out += " (" + PlanRenderer.signedMoney(cost.delta) + ")\n"
        let rows = plan.changes.compactMap { change -> (String, String, String)? in
            // Unchanged resources are listed only when they cost something; the ones whose cost
            // depends on usage are counted below instead of listed one by one.
            guard let c = change.cost, change.action != .noop || (c.before ?? 0) > 0 || (c.after ?? 0) > 0 else { return nil }
            let amounts: String
            switch (c.before, c.after) {
            case (let b?, let a?) where change.action != .noop && change.action != .create: amounts = PlanRenderer.money(b) + " → " + PlanRenderer.money(a)
            case (_, let a?): amounts = PlanRenderer.money(a)
            case (let b?, nil) where change.action == .delete: amounts = PlanRenderer.money(b) + " → $0.00"
            default: amounts = "?"
            }
            return (change.address, amounts, c.note ?? "")
        }
        let w0 = rows.map { $0.0.count }.max() ?? 0
        let w1 = rows.map { $0.1.count }.max() ?? 0
        for (address, amounts, note) in rows {
            out += "  " + address.padding(toLength: w0, withPad: " ", startingAt: 0) + "  " + amounts.padding(toLength: w1, withPad: " ", startingAt: 0) + "  " + note + "\n"
        }
        if cost.unknownAfter > 0 {
            out += "  \(cost.unknownAfter) function\(cost.unknownAfter == 1 ? "" : "s") without 'usage' not counted: cost depends on usage at $\(Estimator.price(cost.pricing.perGbSecond)) per GB-second and $\(Estimator.price(cost.pricing.perMillionRequests)) per 1M requests\n"
        }
        return out
    }

    // MARK: Markdown

    /// A pull-request comment: a changes table and the cost line.
    public func markdown(_ plan: Plan) -> String {
        var out = "### Kumo plan for `\(plan.project)` (stage `\(plan.stage)`)\n\n"
        let actionable = plan.actionable
        if actionable.isEmpty {
            out += "No changes. The state matches the manifest.\n"
        } else {
            out += "| | Resource | Action | Why |\n|---|---|---|---|\n"
            for change in actionable {
                let symbol = change.action == .replace ? "±" : change.action.symbol
                let action = change.update.map { "\(change.action.rawValue) (\($0.label))" } ?? change.action.rawValue
                out += "| `\(symbol)` | `\(change.address)` | \(action) | \(PlanRenderer.cell(change.reasons.joined(separator: "; "))) |\n"
            }
            out += "\n**\(plan.summary)**\n"
        }
        if let cost = plan.cost {
            out += "\n**Monthly cost:** " + PlanRenderer.money(cost.before) + " → " + PlanRenderer.money(cost.after) + " (" + PlanRenderer.signedMoney(cost.delta) + ")"
            if cost.unknownAfter > 0 { out += "; \(cost.unknownAfter) function\(cost.unknownAfter == 1 ? " depends" : "s depend") on usage (not counted)" }
            out += "\n"
        }
        for warning in plan.warnings { out += "\n> **Warning:** \(PlanRenderer.cell(warning))\n" }
        return out
    }

    static func cell(_ text: String) -> String {
        text.replacing("|", with: "\\|").replacing("\n", with: " ")
    }

    // MARK: Values

    /// Every leaf of a spec with its path, in spec order; empty collections are leaves.
    static func leaves(_ value: ConfigValue?) -> [(String, ConfigValue)] {
        var out: [(String, ConfigValue)] = []
        func walk(_ value: ConfigValue, _ path: String) {
            switch value {
            case .object(let pairs) where !pairs.isEmpty:
                for (key, child) in pairs { walk(child, FieldDiff.join(path, key)) }
            case .array(let items) where !items.isEmpty:
                for (i, child) in items.enumerated() { walk(child, "\(path)[\(i)]") }
            default:
                out.append((path, value))
            }
        }
        if let value { walk(value, "") }
        return out
    }

    func display(_ value: ConfigValue, sensitive: Bool) -> String {
        if sensitive { return paint("(sensitive)", .dim) }
        return value.compactJSON()
    }

    /// `2`, `1.7`: a count that may be fractional, without float noise.
    public static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    public static func seconds(_ s: Double) -> String {
        if s < 1 { return String(format: "%.0f ms", s * 1000) }
        if s < 60 { return String(format: "%.1f s", s) }
        let minutes = Int(s) / 60
        return String(format: "%d min %.0f s", minutes, s - Double(minutes * 60))
    }

    public static func money(_ dollars: Double) -> String {
        let cents = (dollars * 100).rounded()
        let value = cents / 100
        if value != 0 && abs(value) < 0.01 { return "<$0.01" }
        return "$" + PlanRenderer.grouped(value)
    }

    static func signedMoney(_ dollars: Double) -> String {
        let rounded = (dollars * 100).rounded() / 100
        if rounded == 0 { return "±$0.00" }
        return (rounded > 0 ? "+" : "-") + money(abs(rounded))
    }

    static func grouped(_ value: Double) -> String {
        let text = String(format: "%.2f", abs(value))
        let parts = text.split(separator: ".")
        var digits = String(parts[0])
        var groups: [String] = []
        while digits.count > 3 {
            groups.insert(String(digits.suffix(3)), at: 0)
            digits.removeLast(3)
        }
        groups.insert(digits, at: 0)
        return (value < 0 ? "-" : "") + groups.joined(separator: ",") + "." + parts[1]
    }

    // MARK: Colour

    enum Colour: String {
        case red = "31", green = "32", yellow = "33", magenta = "35", dim = "2", none = ""
    }

    func color(for action: PlanAction) -> Colour {
        switch action {
        case .create: .green
        case .update: .yellow
        case .replace: .magenta
        case .delete: .red
        case .noop: .none
        }
    }

    func paint(_ text: String, _ colour: Colour, bold: Bool = false) -> String {
        guard color else { return text }
        var codes: [String] = []
        if bold { codes.append("1") }
        if colour != .none { codes.append(colour.rawValue) }
        guard !codes.isEmpty else { return text }
        return "\u{1B}[" + codes.joined(separator: ";") + "m" + text + "\u{1B}[0m"
    }
}
