import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoState

extension Kumo {
    struct Calibrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit T, S and E from the timings of past applies; later plans use the fit.",
            discussion: """
                For every apply, wave and kind the executor recorded how long the wave's actions of that
                kind took; a least-squares line time = init + each × ⌈count / parallelism⌉ is fitted per
                kind (needs waves of at least two different sizes) and saved in the state.
                """)

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let path = try stateOptions.path(projectDirectory: location.absolute)
            guard let store = try stateOptions.open(path, create: false) else { throw fail("there is no state at \(path); apply something first") }
            let samples: [ResourceKind: [Calibration.Sample]]
            do { samples = try store.calibrationSamples() } catch { throw fail(error.description) }
            var fits: [ResourceKind: Calibration.Fit] = [:]
            var report: [(String, ConfigValue)] = []
            var text = ""
            for (kind, label, symbol) in [(ResourceKind.function, "functions", "T(n)"), (.service, "services", "S(m)"), (.rule, "rules", "E(k)")] {
                let points = samples[kind] ?? []
                if let fit = Calibration.fit(points) {
                    fits[kind] = fit
                    text += String(format: "%@ %@ = %.0f ms + %.1f ms·n  (%d samples, RMS error %.1f ms)\n", label.padding(toLength: 9, withPad: " ", startingAt: 0), symbol, fit.initial * 1000, fit.each * 1000, fit.samples, fit.rmse * 1000)
                    report.append((label, .object([("init_ms", .double(fit.initial * 1000)), ("each_ms", .double(fit.each * 1000)), ("samples", .int(fit.samples)), ("rmse_ms", .double(fit.rmse * 1000))])))
                } else {
                    text += "\(label.padding(toLength: 9, withPad: " ", startingAt: 0)) not enough data (\(points.count) sample\(points.count == 1 ? "" : "s"); needs waves of two different sizes)\n"
                    report.append((label, .object([("samples", .int(points.count))])))
                }
            }
            if !fits.isEmpty {
                do {
                    try store.withLock(operation: "calibrate", timeout: try lockOptions.seconds) { lock in
                        if let previous = lock.tookOver { noteTakeover(previous) }
                        try store.saveCalibration(fits, under: lock)
                    }
                } catch let error as CustomStringConvertible & Error { throw fail(error.description) }
            }
            Console.out(json ? ConfigValue.object(report).json() + "\n" : text + (fits.isEmpty ? "" : "Saved: later plans use these coefficients (source: calibrated).\n"))
        }
    }
}
