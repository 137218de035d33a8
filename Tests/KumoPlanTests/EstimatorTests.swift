import Foundation
import KumoManifest
import KumoPlan
import KumoTestSupport
import Testing

/// The rollout model: what each action costs (its `Work`) and how a wave adds it up, case by
/// case as the README states it, with coefficients unlike the built-ins so that a formula that
/// ignores one of them gets other numbers.
@Suite struct EstimatorTests {
    /// init 10 ms, each (per worker) 100 ms, register 4 ms, remove 15 ms, stop 20 ms, q = 2;
    /// services: init 30 ms, each (per replica) 300 ms, register 8 ms, remove 12 ms, stop 50 ms,
    /// q = 4; rules 2 ms + 6 ms.
    static let coefficients = Estimates(
        functions: .init(initial: .init(milliseconds: 10), each: .init(milliseconds: 100), register: .init(milliseconds: 4), remove: .init(milliseconds: 15),
                         stop: .init(milliseconds: 20), parallelism: 2, source: .manifest),
        services: .init(initial: .init(milliseconds: 30), each: .init(milliseconds: 300), register: .init(milliseconds: 8), remove: .init(milliseconds: 12),
                        stop: .init(milliseconds: 50), parallelism: 4, source: .manifest),
        rules: .init(initial: .init(milliseconds: 2), each: .init(milliseconds: 6), source: .manifest))

    /// A project from manifest text, with a python function's code directory beside it.
    static func desired(_ manifest: String) throws -> DesiredState {
        let dir = try Support.temporaryDirectory("kumo-estimator")
        try FileManager.default.createDirectory(atPath: dir + "/fn", withIntermediateDirectories: true)
        try "def main(event, context):\n    return event\n".write(toFile: dir + "/fn/app.py", atomically: true, encoding: .utf8)
        try ("version: 1\nproject: est\n" + manifest).write(toFile: dir + "/kumo.yaml", atomically: true, encoding: .utf8)
        var desired = try Support.desired(at: dir)
        desired.estimates = coefficients
        return desired
    }

    static func functions(_ count: Int, warm: Int, runtime: String = "python3") -> String {
        let body = runtime == "exec" ? "command: [\"/bin/true\"]" : "handler: app.main, code: fn"
        return "functions:\n" + (0..<count).map { "  f\($0): { runtime: \(runtime), \(body), minInstances: \(warm) }\n" }.joined()
    }

    static func services(_ count: Int, replicas: Int, revision: String = "1") -> String {
        "services:\n" + (0..<count).map {
            "  s\($0): { command: [\"python3\", \"-m\", \"http.server\", \"${port}\"], replicas: \(replicas), environment: { REVISION: \"\(revision)\" } }\n"
        }.joined()
    }

    static func plan(_ desired: DesiredState, from current: StateSnapshot = .empty, parallelism: Int = 10) throws -> Plan {
        try Planner(options: .init(parallelism: parallelism, cost: false)).plan(desired: desired, current: current)
    }

    /// The state after `desired` was applied.
    static func applied(_ desired: DesiredState) throws -> StateSnapshot {
        let plan = try plan(desired)
        return StateSnapshot.empty.applying(plan, resources: desired.resources, secrets: [:], lineage: "l")
    }

    static func near(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }

    @Test func functionsWithoutWarmWorkersCostTheirRegistrationOnly() throws {
        let estimate = try #require(try Self.plan(try Self.desired(Self.functions(1000, warm: 0))).estimate)
        let wave = try #require(estimate.waves.first)
        #expect(wave.functions == 1000 && wave.workersStarted == 0)
        // 10 ms + 4 ms · 1000 registrations, one at a time; no worker starts (the old model
        // charged 1000 of them).
        let registrations: Double = 0.010 + 0.004 * 1000
        #expect(Self.near(wave.seconds, registrations), "\(wave.seconds)")
    }

    @Test func warmWorkersAreStartsSharedByTheMachinesParallelism() throws {
        let estimate = try #require(try Self.plan(try Self.desired(Self.functions(10, warm: 3))).estimate)
        let wave = try #require(estimate.waves.first)
        #expect(wave.workersStarted == 30)
        // 10 ms + 4 ms · 10 + 100 ms · 30 / min(p 10, q 2)
        let starts: Double = 0.010 + 0.004 * 10 + 0.100 * 15
        #expect(Self.near(wave.seconds, starts), "\(wave.seconds)")
        // One worker is a whole start however wide the machine; an exec function keeps none.
        let one = try #require(try Self.plan(try Self.desired(Self.functions(1, warm: 1))).estimate)
        let single: Double = 0.010 + 0.004 + 0.100
        #expect(Self.near(one.seconds, single))
        let exec = try #require(try Self.plan(try Self.desired(Self.functions(2, warm: 1, runtime: "exec"))).estimate)
        #expect(exec.waves.first?.workersStarted == 0)
        // --parallelism below the machine's bounds the starts too: q = min(1, 2).
        let serial = try #require(try Self.plan(try Self.desired(Self.functions(10, warm: 3)), parallelism: 1).estimate)
        let narrow: Double = 0.010 + 0.004 * 10 + 0.100 * 30
        #expect(Self.near(serial.seconds, narrow), "\(serial.seconds)")
    }

    @Test func replicasStartOneAtATimePerServiceAndSideBySideAcrossServices() throws {
        // One service with 3 replicas: 3 starts in a row, each up to its first good probe.
        let one = try #require(try Self.plan(try Self.desired(Self.services(1, replicas: 3))).estimate)
        #expect(one.waves.first?.replicasStarted == 3)
        let inARow: Double = 0.030 + 0.008 + 0.300 * 3
        #expect(Self.near(one.seconds, inARow), "\(one.seconds)")
        // Three services with 1 replica: side by side, q = 4 of them at once.
        let three = try #require(try Self.plan(try Self.desired(Self.services(3, replicas: 1))).estimate)
        let sideBySide: Double = 0.030 + 0.008 * 3 + 0.300
        #expect(Self.near(three.seconds, sideBySide), "\(three.seconds)")
        // Eight services with 2: max(largest 2, 16/4) = 4 rounds.
        let eight = try #require(try Self.plan(try Self.desired(Self.services(8, replicas: 2))).estimate)
        let four: Double = 0.030 + 0.008 * 8 + 0.300 * 4
        #expect(Self.near(eight.seconds, four), "\(eight.seconds)")
    }

    @Test func aRollingUpdateStartsAndDrainsEveryReplicaInTurnAndAScaleOnlyTheDifference() throws {
        let before = try Self.applied(try Self.desired(Self.services(1, replicas: 3)))
        let rolled = try Self.plan(try Self.desired(Self.services(1, replicas: 3, revision: "2")), from: before)
        #expect(rolled.changes.first { $0.kind == .service }?.update == .rolling)
        let wave = try #require(rolled.estimate?.waves.first)
        #expect(wave.replicasStarted == 3 && wave.replicasStopped == 3)
        let rolling: Double = 0.030 + 0.008 + 0.300 * 3 + 0.050 * 3
        #expect(Self.near(wave.seconds, rolling), "\(wave.seconds)")

        let scaled = try Self.plan(try Self.desired(Self.services(1, replicas: 5)), from: before)
        #expect(scaled.changes.first { $0.kind == .service }?.update == .scale)
        let up = try #require(scaled.estimate?.waves.first)
        #expect(up.replicasStarted == 2 && up.replicasStopped == 0)
        let twoMore: Double = 0.030 + 0.008 + 0.300 * 2
        #expect(Self.near(up.seconds, twoMore))
        let down = try #require(try Self.plan(try Self.desired(Self.services(1, replicas: 1)), from: before).estimate?.waves.first)
        #expect(down.replicasStarted == 0 && down.replicasStopped == 2)

        // Work itself: rolling 2 → 4 starts 4 (2 replacing, 2 more) and stops the 2 old ones;
        // rolling 4 → 2 starts 4 and stops 4 old plus the 2 surplus new.
        let two = try #require(try Self.desired(Self.services(1, replicas: 2)).resources.first?.spec)
        let four = try #require(try Self.desired(Self.services(1, replicas: 4)).resources.first?.spec)
        #expect(Work(action: .update, update: .rolling, before: two, after: four) == Work(registrations: 1, starts: 4, stops: 2))
        #expect(Work(action: .update, update: .rolling, before: four, after: two) == Work(registrations: 1, starts: 4, stops: 6))
        #expect(Work(action: .replace, update: nil, before: four, after: two) == Work(registrations: 1, removals: 1, starts: 2, stops: 4))
        #expect(Work(action: .delete, update: nil, before: four, after: nil) == Work(removals: 1, stops: 4))
        // A recorded timing's action gives its registrations and removals back.
        #expect(Work(action: "replace", starts: 2, stops: 4) == Work(registrations: 1, removals: 1, starts: 2, stops: 4))
        #expect(Work(action: "delete", starts: 0, stops: 4) == Work(removals: 1, stops: 4))
    }

    @Test func destroysCostRegistrationsAndStopsNotStarts() throws {
        let desired = try Self.desired(Self.functions(4, warm: 2) + Self.services(2, replicas: 3))
        let state = try Self.applied(desired)
        let destroy = try Self.plan(try Self.desired(""), from: state)
        let estimate = try #require(destroy.estimate)
        #expect(estimate.waves.map(\.workersStarted).reduce(0, +) == 0 && estimate.waves.map(\.replicasStarted).reduce(0, +) == 0)
        #expect(estimate.waves.map(\.workersStopped).reduce(0, +) == 8 && estimate.waves.map(\.replicasStopped).reduce(0, +) == 6)
        // Functions and services go in one wave here (nothing depends on anything):
        // T = 10 + 15·4 (removals) + 20·8/2 = 150 ms; S = 30 + 12·2 + 50·max(3, 6/4) = 204 ms;
        // the wave is the slower. Nothing registers.
        #expect(estimate.waves.count == 1)
        #expect(Self.near(estimate.seconds, 0.204), "\(estimate.seconds)")
        // A no-op plan takes no time.
        let noop = try #require(try Self.plan(desired, from: state).estimate)
        #expect(noop.waves.isEmpty && noop.seconds == 0)
    }

    @Test func calibratedLinesCarryTheirErrorIntoEachWaveAndTheTotal() throws {
        var estimates = Self.coefficients
        estimates.functions.error = 0.1
        estimates.functions.source = .calibrated
        estimates.services.error = 0.2
        estimates.services.source = .calibrated
        var desired = try Self.desired(Self.functions(2, warm: 1) + Self.services(1, replicas: 1))
        desired.estimates = estimates
        // A function wave and a service wave: dependsOn puts the service first? No: none here, so
        // one wave, whose slower line (the service, 338 ms) gives the error: 20 % of it.
        let estimate = try #require(try Self.plan(desired).estimate)
        #expect(estimate.waves.count == 1)
        let wave = try #require(estimate.waves.first)
        #expect(Self.near(wave.seconds, 0.338) && Self.near(wave.error ?? 0, 0.2 * 0.338))
        // Two waves add in quadrature.
        let two = RolloutEstimate(parallelism: 10, coefficients: estimates, waves: [wave, wave])
        #expect(Self.near(two.error ?? 0, (2 * 0.0676 * 0.0676).squareRoot()))
        // The text shows it.
        let text = PlanRenderer(color: false).rolloutText(estimate)
        #expect(text.hasPrefix("Rollout estimate: 338 ms ± 68 ms in 1 wave"), "\(text)")
        #expect(text.contains("1 service (m = 1)") && text.contains("2 functions (n = 2)"), "\(text)")
        // Uncalibrated lines have no error bar.
        #expect(try Self.plan(try Self.desired(Self.functions(1, warm: 1))).estimate?.error == nil)
    }
}

@Suite struct CalibrationTests {
    /// Waves timed by the model itself with known coefficients, at two parallelisms.
    static func samples(_ line: Estimates.Line, kind: Estimates.Kind, noise: (Int) -> Double = { _ in 1 }) -> [Calibration.Sample] {
        var samples: [Calibration.Sample] = []
        let loads: [Estimator.LineLoad] = kind == .services
            // (actions, starts, largest, stops, largest, removals): creates, then destroys, then a rolling update.
            ? [(1, 1, 1, 0, 0, 0), (2, 2, 1, 0, 0, 0), (4, 4, 1, 0, 0, 0), (7, 7, 1, 0, 0, 0), (1, 2, 2, 0, 0, 0), (4, 8, 2, 0, 0, 0),
               (2, 0, 0, 4, 2, 2), (5, 0, 0, 5, 1, 5), (7, 0, 0, 7, 1, 7), (1, 3, 3, 3, 3, 0)]
                .map { Estimator.LineLoad(actions: $0.0, removals: $0.5, starts: $0.1, stops: $0.3, largestStarts: $0.2, largestStops: $0.4) }
            // (actions, starts, stops, removals)
            : [(3, 0, 0, 0), (30, 0, 0, 0), (300, 0, 0, 0), (1, 1, 0, 0), (2, 2, 0, 0), (3, 3, 0, 0), (20, 20, 0, 0), (50, 50, 0, 0), (1, 3, 0, 0),
               (5, 10, 0, 0), (20, 0, 20, 20), (3, 0, 6, 3), (30, 0, 0, 30), (3, 0, 0, 3)]
                .map { Estimator.LineLoad(actions: $0.0, removals: $0.3, starts: $0.1, stops: $0.2, largestStarts: min($0.1, 3), largestStops: min($0.2, 2)) }
        for p in [10, 4] {
            for load in loads {
                let seconds = Estimator.seconds(line, kind: kind, load: load, parallelism: p) * noise(samples.count)
                samples.append(Calibration.Sample(load: load, parallelism: p, seconds: seconds))
            }
        }
        return samples
    }

    @Test(arguments: [Estimates.Kind.functions, .services])
    func theFitRecoversKnownCoefficientsAndParallelism(kind: Estimates.Kind) throws {
        let truth = Estimates.Line(initial: .init(milliseconds: 12), each: .init(milliseconds: kind == .services ? 420 : 170),
                                   register: .init(milliseconds: 6), remove: .init(milliseconds: 14), stop: .init(milliseconds: 25), parallelism: kind == .services ? 3 : 2, source: .calibrated)
        let fit = try #require(Calibration.fit(Self.samples(truth, kind: kind), kind: kind, refining: Estimates.builtIn[kind]))
        #expect(fit.line.parallelism == truth.parallelism)
        #expect(fit.line.initial == truth.initial, "\(fit.line)")
        #expect(fit.line.each == truth.each, "\(fit.line)")
        #expect(fit.line.register == truth.register, "\(fit.line)")
        #expect(fit.line.remove == truth.remove, "\(fit.line)")
        #expect(fit.line.stop == truth.stop, "\(fit.line)")
        #expect(fit.relativeError < 1e-6)
        #expect((fit.line.error ?? 1) < 1e-6)
        #expect(fit.line.source == .calibrated && fit.samples == fit.line.samples)
        #expect(fit.fitted == ["init", "each", "register", "remove", "stop", "parallelism"])
    }

    @Test func noiseBecomesTheErrorBar() throws {
        let truth = Estimates.Line(initial: .init(milliseconds: 10), each: .init(milliseconds: 150), register: .init(milliseconds: 5),
                                   stop: .init(milliseconds: 20), parallelism: 2, source: .calibrated)
        // ±10 % alternating: the fit stays near the truth and reports about 10 % per wave.
        let fit = try #require(Calibration.fit(Self.samples(truth, kind: .functions) { $0 % 2 == 0 ? 1.1 : 0.9 }, kind: .functions, refining: Estimates.builtIn.functions))
        // q and each trade off against each other under noise; what they predict stays close.
        for load in [Estimator.LineLoad(actions: 1, starts: 1, largestStarts: 1), Estimator.LineLoad(actions: 10, starts: 10, largestStarts: 1),
                     Estimator.LineLoad(actions: 100, starts: 100, largestStarts: 1), Estimator.LineLoad(actions: 100)] {
            let expected = Estimator.seconds(truth, kind: .functions, load: load, parallelism: 10)
            let estimated = Estimator.seconds(fit.line, kind: .functions, load: load, parallelism: 10)
            #expect(abs(estimated - expected) / expected < 0.15, "\(load.starts) workers: \(estimated) s, truth \(expected) s, fit \(fit.line)")
        }
        let error = try #require(fit.line.error)
        #expect(error > 0.07 && error < 0.15, "\(error)")
    }

    /// The fit minimises relative error: a long wave that ran 30 % slow moves the short waves'
    /// estimates little (least squares on seconds would let its residual dominate them).
    @Test func shortWavesWeighAsMuchAsLongOnes() throws {
        let truth = Estimates.Line(initial: .init(milliseconds: 10), each: .init(milliseconds: 150), register: .init(milliseconds: 5),
                                   stop: .init(milliseconds: 20), parallelism: 2, source: .calibrated)
        let samples = Self.samples(truth, kind: .functions).map { sample in
            var slow = sample
            if sample.load.starts >= 50 { slow.seconds *= 1.3 }
            return slow
        }
        let fit = try #require(Calibration.fit(samples, kind: .functions, refining: Estimates.builtIn.functions))
        for load in [Estimator.LineLoad(actions: 1, starts: 1, largestStarts: 1), Estimator.LineLoad(actions: 3, starts: 3, largestStarts: 1)] {
            let expected = Estimator.seconds(truth, kind: .functions, load: load, parallelism: 10)
            let estimated = Estimator.seconds(fit.line, kind: .functions, load: load, parallelism: 10)
            #expect(abs(estimated - expected) / expected < 0.1, "\(load.starts) workers: \(estimated) s, truth \(expected) s, fit \(fit.line)")
        }
    }

    @Test func whatTheSamplesCannotTellKeepsTheRefinedValue() throws {
        // Only creates with warm workers: nothing was stopped, so `stop` stays the base line's.
        let truth = Estimates.Line(initial: .init(milliseconds: 10), each: .init(milliseconds: 150), register: .init(milliseconds: 5),
                                   stop: .init(milliseconds: 20), parallelism: 2, source: .calibrated)
        let samples = Self.samples(truth, kind: .functions).filter { $0.load.stops == 0 && $0.load.removals == 0 }
        let base = Estimates.Line(initial: .init(milliseconds: 1), each: .init(milliseconds: 1), register: .init(milliseconds: 1),
                                  stop: .init(milliseconds: 77), parallelism: 5, source: .builtIn)
        let fit = try #require(Calibration.fit(samples, kind: .functions, refining: base))
        #expect(fit.line.stop == .init(milliseconds: 77) && !fit.fitted.contains("stop") && !fit.fitted.contains("remove"))
        #expect(fit.line.each == truth.each && fit.line.parallelism == 2)
        // Too few samples: no fit.
        #expect(Calibration.fit(Array(samples.prefix(2)), kind: .functions, refining: base) == nil)
    }

    @Test func rulesFitInitAndEachPerRegistration() throws {
        let truth = Estimates.Line(initial: .init(milliseconds: 3), each: .init(milliseconds: 7), parallelism: 2, source: .calibrated)
        let samples = [1, 5, 10, 40, 100].flatMap { k in
            [10, 4].map { p in
                let load = Estimator.LineLoad(actions: k)
                return Calibration.Sample(load: load, parallelism: p, seconds: Estimator.seconds(truth, kind: .rules, load: load, parallelism: p))
            }
        }
        let fit = try #require(Calibration.fit(samples, kind: .rules, refining: Estimates.builtIn.rules))
        #expect(fit.line.initial == truth.initial && fit.line.each == truth.each)
    }
}
