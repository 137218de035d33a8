import Foundation
import GRDB
import KumoManifest
import KumoPlan

extension StateStore {
    /// One sample per recorded (apply, wave, line) whose actions counted their work: the line's
    /// load in that wave, the apply's parallelism, and the time from the wave's start until its
    /// last action of that line ended. Scaling policies count with rules.
    public func calibrationSamples() throws(StateError) -> [Estimates.Kind: [Calibration.Sample]] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT CASE kind WHEN 'scaling' THEN 'rule' ELSE kind END AS line,
                       COUNT(*) AS actions, SUM(action <> 'delete') AS registrations, SUM(action IN ('delete', 'replace')) AS removals,
                       SUM(starts) AS starts, MAX(starts) AS largest_starts,
                       SUM(stops) AS stops, MAX(stops) AS largest_stops,
                       MAX(parallelism) AS parallelism, MAX(started_ms + duration_ms) AS span
                FROM timings WHERE counted = 1
                GROUP BY journal_id, wave, line
                ORDER BY journal_id, wave, line
                """)
            var samples: [Estimates.Kind: [Calibration.Sample]] = [:]
            for row in rows {
                guard let kind = ResourceKind(rawValue: row["line"]) else { continue }
                let load = Estimator.LineLoad(actions: row["actions"], registrations: row["registrations"], removals: row["removals"], starts: row["starts"], stops: row["stops"],
                                              largestStarts: row["largest_starts"], largestStops: row["largest_stops"])
                samples[Estimates.Kind(kind), default: []].append(
                    Calibration.Sample(load: load, parallelism: max(1, row["parallelism"]), seconds: (row["span"] as Double) / 1000))
            }
            return samples
        }
    }

    /// The fitted lines saved by `kumo calibrate`.
    public func calibration() throws(StateError) -> [Estimates.Kind: Estimates.Line] {
        try read { db in
            var lines: [Estimates.Kind: Estimates.Line] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM calibration") {
                guard let kind = Estimates.Kind(rawValue: row["kind"]) else { continue }
                func ms(_ column: String) -> Duration { Duration(milliseconds: Int64((row[column] as Double).rounded())) }
                lines[kind] = Estimates.Line(initial: ms("init_ms"), each: ms("each_ms"), register: ms("register_ms"), remove: ms("remove_ms"), stop: ms("stop_ms"),
                                             parallelism: max(1, row["parallelism"] as Double), source: .calibrated, error: row["error"], samples: row["samples"])
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
                    """, arguments: [kind.rawValue, Double(line.initial.milliseconds), Double(line.each.milliseconds), Double(line.register.milliseconds), Double(line.remove.milliseconds),
                                     Double(line.stop.milliseconds), line.parallelism, fit.samples, fit.rmse * 1000, line.error, writer.now])
            }
        }
    }

    /// The most recent applies and destroys that recorded an estimate and their actual time,
    /// newest first.
    public func estimateHistory(limit: Int) throws(StateError) -> [JournalEntry] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM journal WHERE estimate_ms IS NOT NULL AND actual_ms IS NOT NULL AND outcome = 'succeeded'
                ORDER BY id DESC LIMIT ?
                """, arguments: [limit]).map(JournalEntry.init(row:))
        }
    }
}
