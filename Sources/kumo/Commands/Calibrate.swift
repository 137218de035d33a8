import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoState

extension Kumo {
    struct Calibrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit T, S and E to this machine from past applies; later plans use the fit.",
            discussion: """
                Every apply records, per action, how long it took and the work it did (registrations, warm workers or replicas started and stopped). For each line (functions, services, rules) this fits init, each (per process started), register (per action), stop (per process stopped) and the process starts the machine sustains at once, minimising the relative error of each recorded wave, and saves them in the state. Plans then print their estimate with the fit's error.

                --report instead shows how close recent applies came to their plan's estimate.
                """)

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions

        @Flag(help: "Show recent applies' estimates against their actual times (median and worst error) instead of fitting.")
        var report = false

        @Option(help: "With --report: how many recent applies to show.")
        var last = 20

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard last >= 1 else { throw ValidationError("--last must be at least 1") }
        }

        func run() async throws {
            let path = try stateOptions.path(projectDirectory: location.absolute)
            guard let store = try stateOptions.open(path, create: false) else { throw fail("there is no state at \(path); apply something first") }
            if report { return try showReport(store) }
            let samples: [Estimates.Kind: [Calibration.Sample]]
            do { samples = try store.calibrationSamples() } catch { throw fail(error.description) }
            var fits: [Estimates.Kind: Calibration.Fit] = [:]
            var document: [(String, ConfigValue)] = []
            var text = ""
            for kind in Estimates.Kind.allCases {
                let points = samples[kind] ?? []
                let label = kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                guard let fit = Calibration.fit(points, kind: kind, refining: Estimates.builtIn[kind]) else {
                    text += "\(label) not enough data (\(points.count) sample\(points.count == 1 ? "" : "s"); needs waves of different sizes)\n"
                    document.append((kind.rawValue, .object([("samples", .int(points.count))])))
                    continue
                }
                fits[kind] = fit
                text += "\(label) \(PlanRenderer.formula(fit.line, kind: kind))  (\(fit.samples) samples, ±\(Calibrate.percent(fit.line.error ?? 0)) per wave)\n"
                let kept = ["init", "each", "register", "remove", "stop", "parallelism"].filter { !fit.fitted.contains($0) }
                if kind != .rules, !kept.isEmpty { text += String(repeating: " ", count: 10) + "not in the samples, kept built in: " + kept.joined(separator: ", ") + "\n" }
                let line = fit.line
                document.append((kind.rawValue, .object([
                    ("init_ms", .double(line.initialSeconds * 1000)), ("each_ms", .double(line.eachSeconds * 1000)),
                    ("register_ms", .double(line.registerSeconds * 1000)), ("remove_ms", .double(line.removeSeconds * 1000)), ("stop_ms", .double(line.stopSeconds * 1000)),
                    ("parallelism", .double(line.parallelism)), ("samples", .int(fit.samples)), ("error", .double(line.error ?? 0)),
                    ("rms_relative_error", .double(fit.relativeError)), ("rmse_ms", .double(fit.rmse * 1000)),
                    ("fitted", .array(fit.fitted.sorted().map { .string($0) })),
                ])))
            }
            if !fits.isEmpty {
                do {
                    try store.withLock(operation: "calibrate", timeout: try lockOptions.seconds) { lock in
                        if let previous = lock.tookOver { noteTakeover(previous) }
                        try store.saveCalibration(fits, under: lock)
                    }
                } catch let error as CustomStringConvertible & Error { throw fail(error.description) }
            }
            Console.out(json ? ConfigValue.object(document).json() + "\n" : text + (fits.isEmpty ? "" : "Saved: later plans use these coefficients (source: calibrated).\n"))
        }

        static func percent(_ fraction: Double) -> String { String(format: "%.0f %%", fraction * 100) }

        private func showReport(_ store: StateStore) throws {
            let entries: [JournalEntry]
            do { entries = try store.estimateHistory(limit: last) } catch { throw fail(error.description) }
            let rows = entries.compactMap { entry -> (entry: JournalEntry, estimate: Double, actual: Double, error: Double)? in
                guard let estimate = entry.estimate?.milliseconds, let actual = entry.actualMilliseconds, actual > 0 else { return nil }
                return (entry, estimate / 1000, actual / 1000, (estimate - actual) / actual)
            }
            let errors = rows.map { abs($0.error) }.sorted()
            let median = errors.isEmpty ? nil : errors.count % 2 == 1 ? errors[errors.count / 2] : (errors[errors.count / 2 - 1] + errors[errors.count / 2]) / 2
            let worst = rows.max { abs($0.error) < abs($1.error) }
            if json {
                var document: [(String, ConfigValue)] = [("applies", .array(rows.map { row in
                    .object([
                        ("id", .int(Int(row.entry.id))), ("operation", .string(row.entry.operation)), ("started_at", .string(row.entry.startedAt)),
                        ("estimate_seconds", .double(row.estimate)),
                        ("estimate_error_seconds", row.entry.estimate?.errorMilliseconds.map { .double($0 / 1000) } ?? .null),
                        ("actual_seconds", .double(row.actual)), ("error", .double(row.error)),
                    ])
                }))]
                document.append(("median_absolute_error", median.map(ConfigValue.double) ?? .null))
                document.append(("worst_error", worst.map { .double($0.error) } ?? .null))
                Console.out(ConfigValue.object(document).json() + "\n")
                return
            }
            guard !rows.isEmpty else {
                Console.out("No apply has recorded its estimate and actual time yet: apply or destroy something first.\n")
                return
            }
            var text = "Recent applies, newest first (estimate from the plan, actual from the apply):\n"
            text += "     id  operation  started              estimate          actual     error\n"
            for row in rows {
                var estimate = PlanRenderer.seconds(row.estimate)
                if let error = row.entry.estimate?.errorMilliseconds { estimate += " ± " + PlanRenderer.seconds(error / 1000) }
                text += String(format: "  %5d  %@  %@  %@  %@  %@\n", Int(row.entry.id),
                               row.entry.operation.padding(toLength: 9, withPad: " ", startingAt: 0),
                               String(row.entry.startedAt.prefix(19)).padding(toLength: 19, withPad: " ", startingAt: 0),
                               estimate.padding(toLength: 16, withPad: " ", startingAt: 0),
                               PlanRenderer.seconds(row.actual).padding(toLength: 9, withPad: " ", startingAt: 0),
                               String(format: "%+.0f %%", row.error * 100))
            }
            if let median, let worst {
                text += "Median absolute error \(Calibrate.percent(median)), worst \(String(format: "%+.0f %%", worst.error * 100)) (apply \(worst.entry.id)) over \(rows.count) appl\(rows.count == 1 ? "y" : "ies").\n"
            }
            Console.out(text)
        }
    }
}
