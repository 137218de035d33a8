import Foundation
import GRDB
import KumoManifest
import KumoPlan

extension SQLiteStateStore {
    /// One sample per recorded (apply, wave, line) whose actions counted their work: the line's
    /// load in that wave, the apply's parallelism, and the time from the wave's start until its
    /// last action of that line ended. Scaling policies count with rules.
    public func calibrationSamples() throws(StateError) -> [Estimates.Kind: [Calibration.Sample]] {
        try read { db in
            var samples: [Estimates.Kind: [Calibration.Sample]] = [:]
            for row in try Row.fetchAll(db, sql: CalibrationSQL.samples) {
                guard let kind = ResourceKind(rawValue: row["line"]) else { continue }
                samples[Estimates.Kind(kind), default: []].append(Calibration.Sample(
                    actions: row["actions"], registrations: row["registrations"], removals: row["removals"], starts: row["starts"], stops: row["stops"],
                    largestStarts: row["largest_starts"], largestStops: row["largest_stops"], parallelism: row["parallelism"], spanMilliseconds: row["span"]))
            }
            return samples
        }
    }

    /// The fitted lines saved by `kumo calibrate`.
    public func calibration() throws(StateError) -> [Estimates.Kind: Estimates.Line] {
        try read { db in
            var lines: [Estimates.Kind: Estimates.Line] = [:]
            for row in try Row.fetchAll(db, sql: CalibrationSQL.lines) {
                guard let kind = Estimates.Kind(rawValue: row["kind"]) else { continue }
                lines[kind] = Estimates.Line(calibratedMilliseconds: row["init_ms"], each: row["each_ms"], register: row["register_ms"], remove: row["remove_ms"],
                                             stop: row["stop_ms"], parallelism: row["parallelism"], error: row["error"], samples: row["samples"])
            }
            return lines
        }
    }

    public func saveCalibration(_ fits: [Estimates.Kind: Calibration.Fit], under lock: LockInfo) throws(StateError) {
        try write(under: lock) { writer in
            for (kind, fit) in fits {
                let line = fit.line
                try writer.db.execute(sql: """
                    INSERT OR REPLACE INTO calibration (kind, init_ms, each_ms, register_ms, remove_ms, stop_ms, parallelism, samples, rmse_ms, error, fitted_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [kind.rawValue, line.initialSeconds * 1000, line.eachSeconds * 1000, line.registerSeconds * 1000, line.removeSeconds * 1000,
                                     line.stopSeconds * 1000, line.parallelism, fit.samples, fit.rmse * 1000, line.error, writer.now])
            }
        }
    }

    /// The most recent applies and destroys that recorded an estimate and their actual time,
    /// newest first.
    public func estimateHistory(limit: Int) throws(StateError) -> [JournalEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM journal WHERE \(CalibrationSQL.historyFilter) ORDER BY id DESC LIMIT ?", arguments: [limit]).map(JournalEntry.init(row:))
        }
    }
}

/// The calibration queries both stores run, in SQL that SQLite and PostgreSQL read alike, so
/// that both fit the same samples from the same timings.
enum CalibrationSQL {
    /// One row per (apply, wave, line) of counted timings; scaling policies count with rules.
    static let samples = """
        SELECT CASE kind WHEN 'scaling' THEN 'rule' ELSE kind END AS line,
               COUNT(*) AS actions,
               SUM(CASE WHEN action <> 'delete' THEN 1 ELSE 0 END) AS registrations,
               SUM(CASE WHEN action IN ('delete', 'replace') THEN 1 ELSE 0 END) AS removals,
               SUM(starts) AS starts, MAX(starts) AS largest_starts,
               SUM(stops) AS stops, MAX(stops) AS largest_stops,
               MAX(parallelism) AS parallelism, MAX(started_ms + duration_ms) AS span
        FROM timings WHERE counted = 1
        GROUP BY journal_id, wave, line
        ORDER BY journal_id, wave, line
        """
    static let lines = "SELECT kind, init_ms, each_ms, register_ms, remove_ms, stop_ms, parallelism, error, samples FROM calibration"
    /// The journal entries `kumo calibrate --report` compares.
    static let historyFilter = "estimate_ms IS NOT NULL AND actual_ms IS NOT NULL AND outcome = 'succeeded'"
}

extension Calibration.Sample {
    /// One row of ``CalibrationSQL/samples``.
    init(actions: Int, registrations: Int, removals: Int, starts: Int, stops: Int, largestStarts: Int, largestStops: Int, parallelism: Int, spanMilliseconds: Double) {
        let load = Estimator.LineLoad(actions: actions, registrations: registrations, removals: removals, starts: starts, stops: stops,
                                      largestStarts: largestStarts, largestStops: largestStops)
        self.init(load: load, parallelism: max(1, parallelism), seconds: spanMilliseconds / 1000)
    }
}

extension Estimates.Line {
    /// A line `kumo calibrate` fitted, as stored (milliseconds).
    init(calibratedMilliseconds initial: Double, each: Double, register: Double, remove: Double, stop: Double, parallelism: Double, error: Double?, samples: Int) {
        self.init(initialSeconds: initial / 1000, eachSeconds: each / 1000, registerSeconds: register / 1000, removeSeconds: remove / 1000, stopSeconds: stop / 1000,
                  parallelism: max(1, parallelism), source: .calibrated, error: error, samples: samples)
    }
}
