import KumoManifest

/// Fits a line's coefficients (init, register, remove, each, stop) and the process starts the machine
/// sustains (q) from recorded waves, against the same rounds the estimator charges.
///
/// One sample per (apply, wave, line): the line's load in that wave (actions, processes started
/// and stopped), the apply's parallelism, and the time from the wave's start until its last
/// action of that line ended. For each q from 1 to the largest parallelism seen (in tenths), a weighted
/// least-squares fit with non-negative coefficients minimises the relative error (weights
/// 1/seconds², so a 0.1 s wave counts as much as a 10 s one); the q with the smallest error
/// wins (the smallest on a tie). A coefficient the samples cannot tell (no wave stopped
/// anything, say) keeps the value of the line it refines.
public enum Calibration {
    public struct Sample: Sendable, Equatable {
        public var load: Estimator.LineLoad
        public var parallelism: Int
        public var seconds: Double

        public init(load: Estimator.LineLoad, parallelism: Int, seconds: Double) {
            self.load = load
            self.parallelism = parallelism
            self.seconds = seconds
        }
    }

    public struct Fit: Sendable, Equatable {
        public var line: Estimates.Line
        public var samples: Int
        /// Root-mean-square relative error of the fitted waves (0.1 = 10 %), and absolute (s).
        public var relativeError: Double
        public var rmse: Double
        /// Which coefficients the samples determined (the others came from the refined line).
        public var fitted: Set<String>
    }

    /// Waves shorter than this weigh as if they took this long: timer noise would dominate.
    static let floorSeconds = 0.02

    /// Nil with fewer samples than coefficients to fit plus one, or when nothing varies.
    public static func fit(_ samples: [Sample], kind: Estimates.Kind, refining base: Estimates.Line) -> Fit? {
        let usable = samples.filter { $0.load.actions > 0 && $0.seconds.isFinite && $0.seconds >= 0 }
        guard usable.count >= 2 else { return nil }
        let maxQ = min(64, max(1, usable.map(\.parallelism).max() ?? 1))
        var best: (q: Double, coefficients: [Double?], ssr: Double, parameters: Int)?
        for tenths in 10...(maxQ * 10) {
            let q = Double(tenths) / 10
            // Columns: intercept, register, remove, each, stop (rules: intercept, each).
            let rows = usable.map { sample -> [Double] in
                let r = Estimator.rounds(kind: kind, load: sample.load, parallelism: sample.parallelism, sustained: q)
                return [1, r.register, r.remove, r.each, r.stop]
            }
            let y = usable.map(\.seconds)
            let weights = y.map { 1 / pow2(max($0, floorSeconds)) }
            guard let solved = nonNegativeLeastSquares(rows: rows, y: y, weights: weights) else { continue }
            let ssr = zip(zip(rows, y), weights).reduce(0.0) { total, item in
                let ((row, value), weight) = item
                let predicted = zip(row, solved).reduce(0.0) { $0 + $1.0 * ($1.1 ?? 0) }
                return total + weight * pow2(value - predicted)
            }
            let parameters = solved.compactMap { $0 }.count
            if best == nil || ssr < best!.ssr * (1 - 1e-9) { best = (q, solved, ssr, parameters) }
            // Without process starts q changes nothing: one pass is enough.
            if kind == .rules || usable.allSatisfy({ $0.load.starts == 0 && $0.load.stops == 0 }) { break }
        }
        guard let best else { return nil }
        let n = Double(usable.count)
        let startsVary = kind != .rules && usable.contains { $0.load.starts + $0.load.stops > 0 }
        let parameters = best.parameters + (startsVary ? 1 : 0)
        guard usable.count > parameters else { return nil }
        let rms = (best.ssr / n).squareRoot()
        // The error of one new wave's estimate: the residual spread (with the degrees of
        // freedom the fit used up) and the uncertainty of the fit itself.
        let error = (best.ssr / (n - Double(parameters))).squareRoot() * (1 + 1 / n).squareRoot()
        let c = best.coefficients
        var fitted: Set<String> = []
        for (i, name) in ["init", "register", "remove", "each", "stop"].enumerated() where c[i] != nil { fitted.insert(name) }
        if startsVary { fitted.insert("parallelism") }
        let line = Estimates.Line(
            initialSeconds: c[0].map { max(0, $0) } ?? base.initialSeconds, eachSeconds: c[3].map { max(0, $0) } ?? base.eachSeconds,
            registerSeconds: c[1].map { max(0, $0) } ?? base.registerSeconds, removeSeconds: c[2].map { max(0, $0) } ?? base.removeSeconds,
            stopSeconds: c[4].map { max(0, $0) } ?? base.stopSeconds,
            parallelism: startsVary ? best.q : base.parallelism, source: .calibrated, error: error, samples: usable.count)
        let squared = usable.reduce(0.0) { total, sample in
            total + pow2(sample.seconds - Estimator.seconds(line, kind: kind, load: sample.load, parallelism: sample.parallelism))
        }
        return Fit(line: line, samples: usable.count, relativeError: rms, rmse: (squared / n).squareRoot(), fitted: fitted)
    }

    /// Weighted least squares with every coefficient ≥ 0: columns that are zero in every row
    /// are left out (nil), and while a solution has a negative coefficient its most negative
    /// column is left out too (it is then 0). Nil when the remaining system is singular.
    static func nonNegativeLeastSquares(rows: [[Double]], y: [Double], weights: [Double]) -> [Double?]? {
        let width = rows.first?.count ?? 0
        var active = (0..<width).filter { column in rows.contains { $0[column] != 0 } }
        var zeroed = Set<Int>()
        while !active.isEmpty {
            guard let solution = solve(rows: rows, y: y, weights: weights, columns: active) else {
                // Collinear columns (every wave the same size, say): drop the last and retry.
                active.removeLast()
                continue
            }
            if let worst = zip(active, solution).filter({ $0.1 < 0 }).min(by: { $0.1 < $1.1 }) {
                active.removeAll { $0 == worst.0 }
                zeroed.insert(worst.0)
                continue
            }
            var result = [Double?](repeating: nil, count: width)
            for (column, value) in zip(active, solution) { result[column] = value }
            for column in zeroed { result[column] = 0 }
            return result
        }
        return nil
    }

    /// The normal equations (XᵀWX)β = XᵀWy by Gaussian elimination with partial pivoting.
    static func solve(rows: [[Double]], y: [Double], weights: [Double], columns: [Int]) -> [Double]? {
        let k = columns.count
        var a = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
        for (i, row) in rows.enumerated() {
            for (r, cr) in columns.enumerated() {
                for (c, cc) in columns.enumerated() { a[r][c] += weights[i] * row[cr] * row[cc] }
                a[r][k] += weights[i] * row[cr] * y[i]
            }
        }
        let scale = a.map { $0[..<k].map(abs).max() ?? 0 }.max() ?? 0
        guard scale > 0 else { return nil }
        for col in 0..<k {
            guard let pivot = (col..<k).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > scale * 1e-10 else { return nil }
            a.swapAt(col, pivot)
            for r in 0..<k where r != col {
                let factor = a[r][col] / a[col][col]
                if factor != 0 { for c in col...k { a[r][c] -= factor * a[col][c] } }
            }
        }
        return (0..<k).map { a[$0][k] / a[$0][$0] }
    }

    static func pow2(_ x: Double) -> Double { x * x }

    /// The coefficients a plan uses: calibrated lines where there are some, else `base`.
    public static func merge(_ base: Estimates, calibrated: [Estimates.Kind: Estimates.Line]) -> Estimates {
        var result = base
        for (kind, line) in calibrated { result[kind] = line }
        return result
    }
}
