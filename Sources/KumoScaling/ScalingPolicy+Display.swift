import KumoManifest

extension ScalingPolicy.Metric {
    /// The unit of the metric summed over replicas, for tables and chart axes.
    public var unit: String {
        switch self {
        case .requestsPerSecond: "requests/s"
        case .inFlight: "requests in flight"
        case .concurrency: "busy workers"
        case .cpu: "CPUs, in requests"
        }
    }
}

extension ScalingPolicy {
    public var metric: Metric {
        switch mode {
        case .linear(let metric, _), .targetTracking(let metric, _): metric
        }
    }

    /// `targetTracking: 10 requests/s per replica, 1–10 replicas`.
    public var modeSummary: String {
        let range = "\(minReplicas)–\(maxReplicas) replicas"
        switch mode {
        case .targetTracking(let metric, let target):
            return "targetTracking: \(Number.text(target)) \(metric.unit) per replica, \(range)"
        case .linear(let metric, let maxLoad):
            return "linear: maxReplicas at \(Number.text(maxLoad)) \(metric.unit), \(range)"
        }
    }
}

/// Numbers and times as Kumo's simulation output writes them, without Foundation.
enum Number {
    /// `x` rounded to at most `places` decimals, trailing zeros dropped: `12.5`, `3`, `0.07`.
    static func text(_ x: Double, places: Int = 3) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "∞" : "-∞") }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e15 else { return ConfigValue.formatDouble(x) }
        let units = Int64(scaled)
        let whole = units / Int64(scale)
        var fraction = units % Int64(scale)
        var digits = places
        while digits > 0, fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let sign = x < 0 && units != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let f = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - f.count) + f
    }

    /// Exactly `places` decimals: `3.30`.
    static func fixed(_ x: Double, places: Int) -> String {
        let t = text(x, places: places)
        guard places > 0 else { return t }
        let dot = t.firstIndex(of: ".")
        let have = dot.map { t.distance(from: $0, to: t.endIndex) - 1 } ?? 0
        return t + (dot == nil ? "." : "") + String(repeating: "0", count: places - have)
    }

    /// Elapsed milliseconds as a clock: `00:01:30`, `1d 02:00:00`, `00:00:07.5`.
    static func clock(_ ms: Int64) -> String {
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let seconds = ms / 1000
        let days = seconds / 86_400
        var hms = "\(two(seconds / 3600 % 24)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
        if ms % 1000 != 0 { hms += String(Number.text(Double(ms % 1000) / 1000).dropFirst()) }
        return days > 0 ? "\(days)d \(hms)" : hms
    }

    /// Elapsed milliseconds in the largest units: `0`, `45s`, `1m30s`, `2h`, `1d6h`.
    static func span(_ ms: Int64) -> String {
        if ms == 0 { return "0" }
        if ms % 1000 != 0 { return text(Double(ms) / 1000) + "s" }
        var rest = ms / 1000
        var parts = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            parts += "\(rest / size)\(unit)"
            rest %= size
        }
        return parts
    }
}
