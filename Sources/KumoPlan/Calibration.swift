import KumoManifest

/// Fits the seed's lines, time = init + each × rounds, by least squares from recorded waves.
///
/// One sample per (apply, wave, kind): `rounds` is ⌈actions of that kind in the wave /
/// parallelism⌉ and `seconds` the time from the wave's start until its last action of that kind
/// ended. The fit needs at least two distinct round counts.
public enum Calibration {
    public struct Sample: Sendable, Equatable {
        public var rounds: Double
        public var seconds: Double
        public init(rounds: Double, seconds: Double) {
            self.rounds = rounds
            self.seconds = seconds
        }
    }

    public struct Fit: Sendable, Equatable {
        public var initial: Double
        public var each: Double
        public var samples: Int
        /// Root-mean-square error of the fit, in seconds.
        public var rmse: Double

        public var line: Estimates.Line {
            Estimates.Line(initial: Duration(milliseconds: Int64((max(0, initial) * 1000).rounded())),
                           each: Duration(milliseconds: Int64((max(0, each) * 1000).rounded())), source: .calibrated)
        }
    }

    /// Ordinary least squares (through the origin when the intercept would be negative); nil
    /// with fewer than two distinct round counts.
    public static func fit(_ samples: [Sample]) -> Fit? {
        guard Set(samples.map(\.rounds)).count >= 2 else { return nil }
        let n = Double(samples.count)
        let sx = samples.reduce(0) { $0 + $1.rounds }, sy = samples.reduce(0) { $0 + $1.seconds }
        let sxx = samples.reduce(0) { $0 + $1.rounds * $1.rounds }, sxy = samples.reduce(0) { $0 + $1.rounds * $1.seconds }
        let denominator = n * sxx - sx * sx
        guard denominator != 0 else { return nil }
        var each = (n * sxy - sx * sy) / denominator
        var initial = (sy - each * sx) / n
        if initial < 0 {
            // A start-up time cannot be negative: fit the line through the origin instead.
            initial = 0
            each = sxy / sxx
        }
        let squared = samples.reduce(0) { $0 + pow2($1.seconds - (initial + each * $1.rounds)) }
        return Fit(initial: initial, each: each, samples: samples.count, rmse: (squared / n).squareRoot())
    }

    static func pow2(_ x: Double) -> Double { x * x }

    /// The coefficients a plan uses: calibrated lines where there are some, else `base`.
    public static func merge(_ base: Estimates, calibrated: [ResourceKind: Estimates.Line]) -> Estimates {
        var result = base
        if let line = calibrated[.function] { result.functions = line }
        if let line = calibrated[.service] { result.services = line }
        if let line = calibrated[.rule] { result.rules = line }
        return result
    }
}
