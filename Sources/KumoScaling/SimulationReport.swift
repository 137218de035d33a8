import KumoManifest

/// A finished simulation as `kumo simulate` shows it: JSON, a table with a summary, and the
/// side-by-side comparison of several. Deterministic: the same run writes the same bytes.
public struct SimulationReport: Sendable {
    public var policy: ScalingPolicy
    public var options: Simulation.Options
    public var steps: [Simulation.Step]
    public var summary: Simulation.Summary
    /// Where the policy comes from, when runs from several projects are compared.
    public var source: String?

    public init(_ simulation: Simulation, summary: Simulation.Summary, source: String? = nil) {
        policy = simulation.policy
        options = simulation.options
        steps = simulation.steps
        self.summary = summary
        self.source = source
    }

    // MARK: JSON

    /// `{"policy", "interval", "steps": [{"t", "load", "recommendation", "replicas", "reason"}],
    /// "summary": {…}}`, one step a line; times and the interval in seconds.
    public func json() -> String {
        var bytes: [UInt8] = []
        writeJSON { bytes.append(contentsOf: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ``json()`` as UTF-8 in pieces of about 64 KiB, written straight into bytes: a week at
    /// one-second resolution has tens of thousands of steps, and no whole document is held.
    public func writeJSON(to write: (UnsafeRawBufferPointer) -> Void) {
        let piece = 1 << 16
        var out: [UInt8] = []
        out.reserveCapacity(piece + 1024)
        var head = "{\n  \"policy\": "
        ConfigValue.writeJSONString(policy.address, into: &head)
        head += ",\n  \"interval\": " + ConfigValue.formatDouble(options.interval.seconds) + ",\n  \"steps\": ["
        out.append(contentsOf: head.utf8)
        // Neighbouring steps mostly share a few reasons: each is described once.
        var reasons: [(Decision.Reason, [UInt8])] = []
        for (i, step) in steps.enumerated() {
            let reason: [UInt8]
            if let known = reasons.first(where: { $0.0 == step.reason }) { reason = known.1 } else {
                var quoted = ""
                ConfigValue.writeJSONString(step.reason.description, into: &quoted)
                reason = Array(quoted.utf8)
                if reasons.count == 8 { reasons.removeFirst() }
                reasons.append((step.reason, reason))
            }
            out.append(contentsOf: (i == 0 ? "\n    {\"t\": " as StaticString : ",\n    {\"t\": ").bytes)
            Self.appendNumber(Double(step.time) / 1000, to: &out)
            out.append(contentsOf: (", \"load\": " as StaticString).bytes)
            Self.appendNumber(step.load, to: &out)
            out.append(contentsOf: (", \"recommendation\": " as StaticString).bytes)
            Self.appendInteger(step.recommendation, to: &out)
            out.append(contentsOf: (", \"replicas\": " as StaticString).bytes)
            Self.appendInteger(step.replicas, to: &out)
            out.append(contentsOf: (", \"reason\": " as StaticString).bytes)
            out.append(contentsOf: reason)
            out.append(UInt8(ascii: "}"))
            if out.count >= piece {
                out.withUnsafeBytes(write)
                out.removeAll(keepingCapacity: true)
            }
        }
        out.append(contentsOf: ((steps.isEmpty ? "],\n  \"summary\": " : "\n  ],\n  \"summary\": ") + summaryValue.json(indent: 2) + "\n}\n").utf8)
        out.withUnsafeBytes(write)
    }

    /// A JSON number as ``ConfigValue/formatDouble(_:)`` writes it.
    static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        if value == value.rounded(), abs(value) < 1e15 { appendInteger(Int(value), to: &out) } else { out.append(contentsOf: value.description.utf8) }
    }

    static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var n = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(48 + n % 10)
                n /= 10
                count += 1
            } while n > 0
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// The summary's fields, in the order JSON and comparisons show them.
    public var summaryValue: ConfigValue {
        .object([
            ("peak_replicas", .int(summary.peakReplicas)),
            ("replica_seconds", .double(summary.replicaSeconds)),
            ("cost", .double(summary.cost)),
            ("seconds_over_capacity", .double(summary.secondsOverCapacity)),
            ("scale_events", .int(summary.scaleEvents)),
        ])
    }

    /// `{"interval", "policies": [{"policy", "source"?, "summary"}]}` for `--compare --json`.
    public static func comparisonJSON(_ reports: [SimulationReport]) -> String {
        let interval = reports.first.map { ConfigValue.double($0.options.interval.seconds) } ?? .null
        let runs = reports.map { report -> ConfigValue in
            var pairs: [(String, ConfigValue)] = [("policy", .string(report.policy.address))]
            if let source = report.source { pairs.append(("source", .string(source))) }
            pairs.append(("summary", report.summaryValue))
            return .object(pairs)
        }
        return ConfigValue.object([("interval", interval), ("policies", .array(runs))]).json() + "\n"
    }

    // MARK: Text

    /// The policy, the first and last steps and those that change the count (all of them with
    /// `allSteps`), and the summary.
    public func text(allSteps: Bool = false) -> String {
        var out = "\(policy.address) → \(policy.target): \(policy.modeSummary), every \(options.interval)\n\n"
        let origin = steps.first?.time ?? 0
        var rows: [[String]] = [["time", "load", "recommended", "replicas", "ready", "reason"]]
        for (i, step) in steps.enumerated() {
            let changed = i == 0 || i == steps.count - 1 || step.replicas != steps[i - 1].replicas
            guard allSteps || changed else { continue }
            rows.append([Number.clock(step.time - origin), Number.text(step.load, places: 2), String(step.recommendation),
                         String(step.replicas), String(step.ready), step.reason.description])
        }
        out += Self.table(rows, rightAligned: [1, 2, 3, 4])
        if !allSteps && rows.count - 1 < steps.count {
            out += "(\(steps.count) evaluations; \(rows.count - 1) shown: the first, the last and each change of count; --all shows every one)\n"
        }
        let seconds = summary.seconds
        out += "\nOver \(Number.span(Int64((seconds * 1000).rounded()))) of trace"
        out += options.startup.milliseconds > 0 ? ", new replicas serving after \(options.startup):\n" : ":\n"
        let share = seconds > 0 ? " (\(Number.text(summary.secondsOverCapacity / seconds * 100, places: 1)) % of the time)" : ""
        out += Self.table([
            ["peak replicas", String(summary.peakReplicas)],
            ["replica-seconds", "\(Number.text(summary.replicaSeconds, places: 1)) (\(Number.text(summary.replicaSeconds / 3600, places: 2)) replica-hours)"],
            ["cost", "$\(Number.fixed(summary.cost, places: summary.cost < 1 ? 4 : 2)) at $\(Number.text(options.pricePerReplicaHour, places: 6)) per replica-hour"],
            ["over capacity", "\(Number.text(summary.secondsOverCapacity, places: 1)) s\(share): load above ready replicas × \(Number.text(policy.replicaCapacity)) \(policy.metric.unit)"],
            ["scale events", String(summary.scaleEvents)],
        ].map { ["  " + $0[0], $0[1]] }, rightAligned: [])
        return out
    }

    /// The summaries of several runs side by side, one column a run.
    public static func comparison(_ reports: [SimulationReport]) -> String {
        var header = [""]
        var rows: [[String]] = [["peak replicas"], ["replica-seconds"], ["cost"], ["seconds over capacity"], ["scale events"]]
        for report in reports {
            header.append(report.source.map { "\(report.policy.address) (\($0))" } ?? report.policy.address)
            let s = report.summary
            rows[0].append(String(s.peakReplicas))
            rows[1].append(Number.text(s.replicaSeconds, places: 1))
            rows[2].append("$" + Number.fixed(s.cost, places: 4))
            rows[3].append(Number.text(s.secondsOverCapacity, places: 1))
            rows[4].append(String(s.scaleEvents))
        }
        var out = ""
        for report in reports {
            let label = report.source.map { "\(report.policy.address) (\($0))" } ?? report.policy.address
            out += "\(label): \(report.policy.modeSummary)\n"
        }
        if let first = reports.first {
            out += "every \(first.options.interval) over \(Number.span(Int64((first.summary.seconds * 1000).rounded()))) of trace\n\n"
        }
        return out + table([header] + rows, rightAligned: Set(1...max(1, reports.count)))
    }

    /// Columns padded to their widest cell, two spaces apart.
    static func table(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() where i < columns - 1 || rightAligned.contains(i) { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                if i > 0 { line += "  " }
                line += rightAligned.contains(i) ? pad + cell : cell + (i == row.count - 1 ? "" : pad)
            }
            out += line + "\n"
        }
        return out
    }
}

extension StaticString {
    /// The literal's UTF-8 bytes.
    fileprivate var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: utf8Start, count: utf8CodeUnitCount) }
}
