import KumoManifest
import KumoScaling
import Testing

@Suite struct SimulationTests {
    let tracking = ScalingPolicy(name: "api", target: "service.api", minReplicas: 1, maxReplicas: 10,
                                 mode: .targetTracking(metric: .requestsPerSecond, target: 10))

    func run(_ policy: ScalingPolicy, _ samples: [(Double, Double)], options: Simulation.Options = .init()) throws -> (Simulation, Simulation.Summary) {
        var simulation = Simulation(policy: policy, options: options)
        for (t, load) in samples { try simulation.add(TraceSample(time: Int64(t * 1000), load: load)) }
        let summary = simulation.finish()
        return (simulation, summary)
    }

    let burst: [(Double, Double)] = [(0, 10), (20, 50), (60, 50), (90, 10)]

    @Test func evaluatesEveryIntervalOnTheLastSampleBefore() throws {
        let (simulation, summary) = try run(tracking, burst, options: .init(pricePerReplicaHour: 36))
        #expect(simulation.steps.map(\.time) == [0, 15_000, 30_000, 45_000, 60_000, 75_000, 90_000])
        #expect(simulation.steps.map(\.load) == [10, 10, 50, 50, 50, 50, 10])
        #expect(simulation.steps.map(\.replicas) == [1, 1, 5, 5, 5, 5, 5])
        #expect(simulation.steps.map(\.recommendation) == [1, 1, 5, 5, 5, 5, 1])
        #expect(simulation.steps[6].reason == .scaleDownStabilized(window: .seconds(300), highest: 5))
        // 1 replica for 30 s, then 5 for 60 s; 50 requests/s on one replica from 20 s to 30 s.
        #expect(summary == Simulation.Summary(peakReplicas: 5, replicaSeconds: 330, cost: 3.3, secondsOverCapacity: 10,
                                              scaleEvents: 1, seconds: 90))
    }

    @Test func newReplicasServeAfterTheStartup() throws {
        let (simulation, summary) = try run(tracking, burst, options: .init(startup: .seconds(20)))
        #expect(simulation.steps.map(\.ready) == [1, 1, 1, 1, 5, 5, 5])
        #expect(summary.secondsOverCapacity == 30)
        #expect(summary.replicaSeconds == 330)
    }

    @Test func aScaleDownRemovesStartingReplicasFirst() throws {
        let quick = ScalingPolicy(name: "q", target: "service.api", minReplicas: 1, maxReplicas: 10,
                                  mode: .targetTracking(metric: .requestsPerSecond, target: 10),
                                  behavior: ScalingPolicy.Behavior(scaleDown: ScalingPolicy.Rules(stabilizationWindow: .seconds(0))))
        // Up to 4 at 0 s (3 starting until 60 s), down to 2 at 15 s: one of them still starts.
        let (simulation, summary) = try run(quick, [(0, 40), (10, 20), (90, 20)], options: .init(startup: .seconds(60)))
        #expect(simulation.steps.map(\.replicas) == [4, 2, 2, 2, 2, 2, 2])
        #expect(simulation.steps.map(\.ready) == [1, 1, 1, 1, 2, 2, 2])
        // Over capacity from 0 to 60 s: 40 then 20 requests/s on one ready replica.
        #expect(summary.secondsOverCapacity == 60)
        #expect(summary.scaleEvents == 2)
        #expect(summary.peakReplicas == 4)
    }

    @Test func theInitialCountDefaultsToMinReplicasZeroIncluded() throws {
        let zero = ScalingPolicy(name: "z", target: "function.f", minReplicas: 0, maxReplicas: 5,
                                 mode: .targetTracking(metric: .concurrency, target: 0.5))
        let (simulation, summary) = try run(zero, [(0, 1), (30, 0)])
        #expect(simulation.steps.map(\.replicas) == [2, 2, 2])
        #expect(summary.peakReplicas == 2)
        #expect(summary.secondsOverCapacity == 0)
        // From zero with a startup: over capacity until the first replicas serve.
        let (cold, coldSummary) = try run(zero, [(0, 1), (30, 0)], options: .init(startup: .seconds(10)))
        #expect(cold.steps.map(\.ready) == [0, 2, 2])
        #expect(coldSummary.secondsOverCapacity == 10)
        let (_, started) = try run(zero, [(0, 1), (30, 0)], options: .init(initialReplicas: 3))
        #expect(started.peakReplicas == 3)
        #expect(started.replicaSeconds == 60)
    }

    @Test func linearOverCapacityIsAgainstMaxLoadOverMaxReplicas() throws {
        let linear = ScalingPolicy(name: "l", target: "service.api", minReplicas: 1, maxReplicas: 4,
                                   mode: .linear(metric: .requestsPerSecond, maxLoad: 400))
        #expect(linear.replicaCapacity == 100)
        let (simulation, summary) = try run(linear, [(0, 0), (15, 400), (45, 400)])
        #expect(simulation.steps.map(\.recommendation) == [1, 4, 4, 4])
        #expect(simulation.steps.map(\.replicas) == [1, 4, 4, 4])
        // 400 on one replica sized for 100 from 15 s, until the evaluation at 15 s adds three.
        #expect(summary.secondsOverCapacity == 0)
        #expect(summary.replicaSeconds == 15 + 4 * 30)
    }

    @Test func aSingleSampleIsOneEvaluation() throws {
        let (simulation, summary) = try run(tracking, [(5, 30)])
        #expect(simulation.steps.map(\.time) == [5000])
        #expect(summary.seconds == 0 && summary.replicaSeconds == 0)
    }

    @Test func aTraceTooLongForItsIntervalIsRefused() {
        var simulation = Simulation(policy: tracking, options: .init(interval: .seconds(1)))
        #expect(throws: SimulationError.self) {
            try simulation.add(TraceSample(time: 0, load: 1))
            try simulation.add(TraceSample(time: 1_000_000_000_000, load: 1))
        }
        #expect(simulation.steps.isEmpty)
    }

    @Test func summariesAloneKeepNoSteps() throws {
        let (simulation, summary) = try run(tracking, burst, options: .init(keepsSteps: false))
        #expect(simulation.steps.isEmpty)
        #expect(summary.scaleEvents == 1)
    }
}
