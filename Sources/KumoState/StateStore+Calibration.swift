import Foundation
import GRDB
import KumoManifest
import KumoPlan

extension SQLiteStateStore {
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
                samples[kind.calibrationLine, default: []].append(Calibration.Sample(waveSize: row["wave_size"], parallelism: row["parallelism"], spanMilliseconds: row["span"]))
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
                lines[kind] = Estimates.Line(calibratedInitialMilliseconds: row["init_ms"], eachMilliseconds: row["each_ms"])
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

extension ResourceKind {
    /// The model line whose samples a kind's actions give (scaling policies count with rules).
    var calibrationLine: ResourceKind { self == .scaling ? .rule : self }
}

extension Calibration.Sample {
    /// One recorded wave: its actions of one kind took `spanMilliseconds` from the wave's start
    /// to the last one's end, in rounds of `parallelism`.
    init(waveSize: Int, parallelism: Int, spanMilliseconds: Double) {
        let parallelism = max(1, parallelism)
        self.init(rounds: Double((waveSize + parallelism - 1) / parallelism), seconds: spanMilliseconds / 1000)
    }
}

extension Estimates.Line {
    /// A line `kumo calibrate` fitted, as stored (milliseconds).
    init(calibratedInitialMilliseconds initial: Double, eachMilliseconds each: Double) {
        self.init(initial: Duration(milliseconds: Int64(initial.rounded())), each: Duration(milliseconds: Int64(each.rounded())), source: .calibrated)
    }
}
