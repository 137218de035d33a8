import KumoManifest

/// A simulation as an SVG chart a person reads without explanation: replicas, the ideal count
/// (load / the load one replica is sized for) and the load, against the time since the first
/// sample, with both axes labelled in their units and a legend. The load's axis is the
/// replicas' times that per-replica load, so the load stands as high as the replicas it needs. Deterministic output: the
/// same report draws the same bytes.
///
/// Each series is a `<polyline>` with the class `replicas`, `ideal` or `load` (the load also
/// shaded beneath, `load-area`), drawn as steps (a value holds until the next evaluation). Past two points per pixel column a series keeps,
/// per column, its first, lowest, highest and last value, so peaks stay visible.
public struct SimulationChart: Sendable {
    public static let width = 960.0
    public static let height = 500.0
    /// The plot area.
    static let left = 70.0, right = 880.0, top = 96.0, bottom = 436.0

    public static let colors = (replicas: "#d62728", ideal: "#2ca02c", load: "#1f77b4", max: "#999999")

    public var report: SimulationReport

    public init(_ report: SimulationReport) {
        self.report = report
    }

    public func svg() -> String {
        let steps = report.steps
        let policy = report.policy
        let origin = steps.first?.time ?? 0
        let lastTime = steps.last?.time ?? origin
        let end = max(lastTime, origin + Int64((report.summary.seconds * 1000).rounded()))
        let span = max(end - origin, report.options.interval.milliseconds)
        let capacity = policy.replicaCapacity
        let ideal = steps.map { $0.load / capacity }
        let peakIdeal = ideal.max() ?? 0
        var replicaTop = Double(max(report.summary.peakReplicas, 1))
        replicaTop = max(replicaTop, peakIdeal.rounded(.up))
        if Double(policy.maxReplicas) <= replicaTop * 1.5 { replicaTop = max(replicaTop, Double(policy.maxReplicas)) }
        let replicaAxis = Axis(top: replicaTop, integral: true)
        // The load's axis is the replicas' times the load one replica is sized for: where the
        // shaded load rises above the red line, the replicas are short.
        let loadAxis = Axis(replicaAxis, times: capacity)

        func x(_ t: Int64) -> Double { Self.left + Double(t - origin) / Double(span) * (Self.right - Self.left) }
        func y(_ v: Double, _ axis: Axis) -> Double { Self.bottom - v / axis.maximum * (Self.bottom - Self.top) }

        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
            viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="#ffffff"/>

            """
        // Title: what ran, and what it came to.
        let s = report.summary
        out += text(Self.left, 22, "\(policy.address) → \(policy.target)", attributes: #"font-size="16" font-weight="bold""#)
        out += text(Self.left, 41, "\(policy.modeSummary); evaluated every \(report.options.interval)"
                    + (report.options.startup.milliseconds > 0 ? ", replicas serve \(report.options.startup) after a scale-up" : ""),
                    attributes: ##"fill="#444444""##)
        out += text(Self.left, 58, "peak \(s.peakReplicas) replicas · \(Number.text(s.replicaSeconds / 3600, places: 2)) replica-hours · $\(Number.fixed(s.cost, places: s.cost < 1 ? 4 : 2)) · \(Number.text(s.secondsOverCapacity, places: 1)) s over capacity · \(s.scaleEvents) scale events",
                    attributes: ##"fill="#444444""##)

        // Grid and axes.
        out += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n"
        for tick in replicaAxis.ticks { out += line(Self.left, y(tick, replicaAxis), Self.right, y(tick, replicaAxis)) }
        out += "</g>\n<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">\n"
        out += line(Self.left, Self.bottom, Self.right, Self.bottom)
        out += line(Self.left, Self.top, Self.left, Self.bottom)
        out += line(Self.right, Self.top, Self.right, Self.bottom)
        let timeTicks = Self.timeTicks(span: span)
        for t in timeTicks { out += line(x(origin + t), Self.bottom, x(origin + t), Self.bottom + 5) }
        for tick in replicaAxis.ticks { out += line(Self.left - 5, y(tick, replicaAxis), Self.left, y(tick, replicaAxis)) }
        for tick in loadAxis.ticks { out += line(Self.right, y(tick, loadAxis), Self.right + 5, y(tick, loadAxis)) }
        out += "</g>\n<g class=\"labels\" fill=\"#333333\">\n"
        for t in timeTicks { out += text(x(origin + t), Self.bottom + 19, Number.span(t), attributes: #"text-anchor="middle""#) }
        for tick in replicaAxis.ticks {
            out += text(Self.left - 8, y(tick, replicaAxis) + 4, replicaAxis.label(tick), attributes: #"text-anchor="end""#)
        }
        for tick in loadAxis.ticks { out += text(Self.right + 8, y(tick, loadAxis) + 4, loadAxis.label(tick)) }
        out += text((Self.left + Self.right) / 2, Self.bottom + 40, "time since the first sample", attributes: #"text-anchor="middle""#)
        let middle = (Self.top + Self.bottom) / 2
        out += text(22, middle, "replicas", attributes: "text-anchor=\"middle\" transform=\"rotate(-90 22 \(Self.f(middle)))\" fill=\"\(Self.colors.replicas)\"")
        let loadLabel = "load (\(policy.metric.unit))"
        out += text(Self.width - 18, middle, loadLabel,
                    attributes: "text-anchor=\"middle\" transform=\"rotate(90 \(Self.f(Self.width - 18)) \(Self.f(middle)))\" fill=\"\(Self.colors.load)\"")
        out += "</g>\n"
        let showsMax = Double(policy.maxReplicas) <= replicaAxis.maximum
        if showsMax {
            let my = y(Double(policy.maxReplicas), replicaAxis)
            out += "<g class=\"max-replicas\" stroke=\"\(Self.colors.max)\" stroke-dasharray=\"2 3\">\n" + line(Self.left, my, Self.right, my) + "</g>\n"
        }

        // The series: the load as a shaded area underneath (visible where the ideal line covers
        // its outline), then the ideal count, then the replicas on top.
        let times = steps.map(\.time)
        let loadPoints = Self.stepPoints(times, steps.map { y($0.load, loadAxis) }, end: end, x: x)
        if let first = loadPoints.first, let last = loadPoints.last {
            let area = [(first.0, Self.bottom)] + loadPoints + [(last.0, Self.bottom)]
            out += "<polygon class=\"load-area\" fill=\"\(Self.colors.load)\" fill-opacity=\"0.15\" stroke=\"none\" points=\""
                + area.map { Self.f($0.0) + "," + Self.f($0.1) }.joined(separator: " ") + "\"/>\n"
        }
        out += polyline("load", Self.colors.load, width: 1, dash: nil, points: loadPoints)
        out += polyline("ideal", Self.colors.ideal, width: 2, dash: "6 4",
                        points: Self.stepPoints(times, ideal.map { y($0, replicaAxis) }, end: end, x: x))
        out += polyline("replicas", Self.colors.replicas, width: 2.5, dash: nil,
                        points: Self.stepPoints(times, steps.map { y(Double($0.replicas), replicaAxis) }, end: end, x: x))

        // Legend, above the plot on the right.
        let legend: [(String, String, String?)] = [
            ("replicas", Self.colors.replicas, nil),
            ("ideal replicas (load ÷ \(Number.text(capacity)) per replica)", Self.colors.ideal, "6 4"),
            (loadLabel, Self.colors.load, nil),
        ] + (showsMax ? [("maxReplicas \(policy.maxReplicas)", Self.colors.max, "2 3")] : [])
        out += "<g class=\"legend\">\n"
        var lx = Self.left
        let ly = 80.0
        for (label, color, dash) in legend {
            if label == loadLabel {
                out += "<rect x=\"\(Self.f(lx))\" y=\"\(Self.f(ly - 10))\" width=\"24\" height=\"12\" fill=\"\(color)\" fill-opacity=\"0.15\" stroke=\"\(color)\"/>\n"
            } else {
                out += "<line x1=\"\(Self.f(lx))\" y1=\"\(Self.f(ly - 4))\" x2=\"\(Self.f(lx + 24))\" y2=\"\(Self.f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2.5\""
                    + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>\n"
            }
            out += text(lx + 30, ly, label)
            lx += 30 + Double(label.count) * 6.6 + 24
        }
        out += "</g>\n</svg>\n"
        return out
    }

    // MARK: Pieces

    /// Corners of a step line through (times[i], ys[i]) held until `end`, in pixels; over two
    /// points per pixel column, each column's first, lowest, highest and last value.
    static func stepPoints(_ times: [Int64], _ ys: [Double], end: Int64, x: (Int64) -> Double) -> [(Double, Double)] {
        guard !times.isEmpty else { return [] }
        var points: [(Double, Double)] = []
        if times.count <= Int(right - left) * 2 {
            points.append((x(times[0]), ys[0]))
            for i in 1..<times.count where ys[i] != ys[i - 1] {
                points.append((x(times[i]), ys[i - 1]))
                points.append((x(times[i]), ys[i]))
            }
            points.append((x(end), ys[ys.count - 1]))
            return points
        }
        var column = -1
        var first = 0.0, low = 0.0, high = 0.0, last = 0.0
        func flush() {
            guard column >= 0 else { return }
            let cx = left + Double(column)
            points.append((cx, first))
            if low != first && low != last { points.append((cx, low)) }
            if high != first && high != last && high != low { points.append((cx, high)) }
            if last != first { points.append((cx, last)) }
        }
        for i in times.indices {
            let c = Int((x(times[i]) - left).rounded(.down))
            if c != column {
                flush()
                column = c
                first = ys[i]; low = ys[i]; high = ys[i]
            }
            low = min(low, ys[i]); high = max(high, ys[i]); last = ys[i]
        }
        flush()
        points.append((x(end), last))
        return points
    }

    /// Ticks every 1, 2, 5, 10, 15 or 30 s, 1, 2, 5, 10, 15 or 30 min, 1, 2, 3, 6 or 12 h, or a
    /// number of days: the smallest giving at most 8 intervals over `span` milliseconds.
    static func timeTicks(span: Int64) -> [Int64] {
        let candidates: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400]
            .map { $0 * 1000 }
        var step = candidates.first { span / $0 <= 8 } ?? 86_400_000
        while span / step > 8 { step *= 2 }
        return stride(from: Int64(0), through: span, by: Int(step)).map { $0 }
    }

    func polyline(_ name: String, _ color: String, width: Double, dash: String?, points: [(Double, Double)]) -> String {
        var out = "<polyline class=\"\(name)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(Self.f(width))\" stroke-linejoin=\"round\""
        if let dash { out += " stroke-dasharray=\"\(dash)\"" }
        out += " points=\""
        for (i, p) in points.enumerated() {
            if i > 0 { out += " " }
            out += Self.f(p.0) + "," + Self.f(p.1)
        }
        return out + "\"/>\n"
    }

    func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) -> String {
        "<line x1=\"\(Self.f(x1))\" y1=\"\(Self.f(y1))\" x2=\"\(Self.f(x2))\" y2=\"\(Self.f(y2))\"/>\n"
    }

    func text(_ x: Double, _ y: Double, _ content: String, attributes: String = "") -> String {
        "<text x=\"\(Self.f(x))\" y=\"\(Self.f(y))\"\(attributes.isEmpty ? "" : " " + attributes)>\(Self.escape(content))</text>\n"
    }

    /// One decimal, no trailing zero: coordinates.
    static func f(_ v: Double) -> String { Number.text(v, places: 1) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// A value axis from 0: about five ticks at 1, 2 or 5 × 10ⁿ, the top one at or above the data.
struct Axis {
    let step: Double
    let maximum: Double
    let places: Int

    init(top: Double, integral: Bool) {
        let raw = max(top, integral ? 1 : 1e-9) / 5
        // power ≤ raw < 10 · power, a power of ten with `places` decimals.
        var power = 1.0
        var places = 0
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10; places += 1 }
        let factor = [1.0, 2, 5, 10].first { power * $0 >= raw } ?? 10
        var step = power * factor
        if factor == 10, places > 0 { places -= 1 }
        if integral { step = max(1, step.rounded(.up)); places = 0 }
        self.step = step
        maximum = (max(top, step) / step).rounded(.up) * step
        self.places = places
    }

    /// `other` with every value times `factor`: ticks at the same heights.
    init(_ other: Axis, times factor: Double) {
        step = other.step * factor
        maximum = other.maximum * factor
        var places = 0
        var scaled = step
        while places < 3, abs(scaled - scaled.rounded()) > 1e-9 * max(1, scaled) {
            scaled *= 10
            places += 1
        }
        self.places = places
    }

    var ticks: [Double] {
        let count = Int((maximum / step).rounded())
        return (0...count).map { Double($0) * step }
    }

    func label(_ value: Double) -> String { Number.text(value, places: places) }
}
