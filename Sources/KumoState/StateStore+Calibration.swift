import Foundation
import GRDB
import KumoManifest
import KumoPlan

extension StateStore {
    /// The samples of every recorded wave, per model line (scaling policies count with rules).
    public func calibrationSamples() throws(StateError) -> [ResourceKind: [Calibration.Sample]] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT kind, wave_size, parallelism, MAX(started_ms + duration_ms) AS span
                FROM timings WHERE action IN ('create', 'update', 'replace')
                GROUP BY journal_id, wave, kind
                """)
            var samples: [ResourceKind: [Calibration.Sample]] = [:]
            for row in rows {
                guard let kind = ResourceKind(rawValue: row["kind"]) else { continue }
                let line: ResourceKind = kind == .scaling ? .rule : kind
                let size: Int = row["wave_size"], parallelism: Int = max(1, row["parallelism"])
                let rounds = Double((size + parallelism - 1) / parallelism)
                samples[line, default: []].append(Calibration.Sample(rounds: rounds, seconds: (row["span"] as Double) / 1000))
            }
            return samples
        }
    }

    /// The fitted lines saved by `kumo calibrate`.
    public func calibration() throws(StateError) -> [ResourceKind: Estimates.Line] {
        try read { db in
            var lines: [ResourceKind: Estimates.Line] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, init_ms, each_ms FROM calibration") {
                guard let kind = ResourceKind(rawValue: row["kind"]) else { continue }
                lines[kind] = Estimates.Line(initial: Duration(milliseconds: Int64((row["init_ms"] as Double).rounded())),
                                             each: Duration(milliseconds: Int64((row["each_ms"] as Double).rounded())), source: .calibrated)
            }
            return lines
        }
    }

    public func saveCalibration(_ fits: [ResourceKind: Calibration.Fit], under lock: LockInfo) throws(StateError) {
        try write(under: lock) { writer in
            for (kind, fit) in fits {
                try writer.db.execute(sql: "INSERT OR REPLACE INTO calibration (kind, init_ms, each_ms, samples, rmse_ms, fitted_at) VALUES (?, ?, ?, ?, ?, ?)",
                                      arguments: [kind.rawValue, max(0, fit.initial) * 1000, max(0, fit.each) * 1000, fit.samples, fit.rmse * 1000, writer.now])
            }
        }
    }
}
