import KumoManifest
@testable import KumoScaling
import Testing

/// A target-tracking policy on a metric whose target is 1 per replica, so that a load of N asks
/// for N replicas, and the HPA's cases read as they are written.
func policy(min: Int = 1, max: Int = 1000, mode: ScalingPolicy.Mode = .targetTracking(metric: .requestsPerSecond, target: 1),
            up: ScalingPolicy.Rules? = nil, down: ScalingPolicy.Rules? = nil) -> ScalingPolicy {
    ScalingPolicy(name: "p", target: "service.api", minReplicas: min, maxReplicas: max, mode: mode,
                  behavior: up == nil && down == nil ? nil : ScalingPolicy.Behavior(scaleUp: up, scaleDown: down))
}

/// horizontal_test.go's generateScalingRules: a replicas policy and a percent policy (0 = none),
/// selectPolicy max.
func rules(replicas: Int = 0, _ replicasPeriod: Int64 = 0, percent: Int = 0, _ percentPeriod: Int64 = 0, window: Int64) -> ScalingPolicy.Rules {
    var policies: [ScalingPolicy.Policy] = []
    if replicas != 0 { policies.append(.init(type: .replicas, value: replicas, period: .seconds(replicasPeriod))) }
    if percent != 0 { policies.append(.init(type: .percent, value: percent, period: .seconds(percentPeriod))) }
    return ScalingPolicy.Rules(stabilizationWindow: .seconds(window), policies: policies, selectPolicy: .max)
}

/// horizontal_test.go's generateEventsUniformDistribution over 120 s: the changes spread evenly
/// before `now`, each in the middle of its segment, the first the oldest.
func spread(_ changes: [Int], before now: Int64) -> [(time: Int64, change: Int)] {
    guard !changes.isEmpty else { return [] }
    let segment = 120_000 / Int64(changes.count)
    return changes.enumerated().map { i, change in (now - (120_000 - segment * Int64(i + 1) + segment / 2), change) }
}

@Suite struct TargetTrackingTests {
    // replica_calculator_test.go: per-replica utilizations summed into the load, target as a fraction.
    @Test func scalesUpByTheUsageRatio() {
        let a = Autoscaler(policy: policy(max: 10, mode: .targetTracking(metric: .cpu, target: 0.3)))
        #expect(a.recommendation(load: 0.3 + 0.5 + 0.7, current: 3) == 5)           // TestReplicaCalcScaleUp
    }

    @Test func scalesDownByTheUsageRatio() {
        let a = Autoscaler(policy: policy(max: 10, mode: .targetTracking(metric: .cpu, target: 0.5)))
        #expect(a.recommendation(load: 0.1 + 0.3 + 0.5 + 0.25 + 0.25, current: 5) == 3)  // TestReplicaCalcScaleDown
    }

    @Test func keepsTheCountWithinTheTolerance() {
        // TestReplicaCalcTolerance: 1010m + 1030m + 1020m of 0.9 + 1.0 + 1.1 requested, target 100 %.
        let cpu = Autoscaler(policy: policy(max: 10, mode: .targetTracking(metric: .cpu, target: 1)))
        #expect(cpu.recommendation(load: 3.06, current: 3) == 3)
        // TestReplicaCalcToleranceCM and TestReplicaCalcScaleUpCM: a per-pod value metric, target 20 and 15.
        let value = Autoscaler(policy: policy(max: 10, mode: .targetTracking(metric: .requestsPerSecond, target: 20)))
        #expect(value.recommendation(load: 20 + 21 + 21, current: 3) == 3)
        let up = Autoscaler(policy: policy(max: 10, mode: .targetTracking(metric: .requestsPerSecond, target: 15)))
        #expect(up.recommendation(load: 20 + 10 + 30, current: 3) == 4)
        // Near the edges (the HPA compares in floating point, and so does Kumo).
        #expect(value.recommendation(load: 65.9, current: 3) == 3)
        #expect(value.recommendation(load: 66.1, current: 3) == 4)
        #expect(value.recommendation(load: 54.1, current: 3) == 3)
        #expect(value.recommendation(load: 39, current: 3) == 2)
    }

    @Test func fromZeroAsksForTheLoadOverTheTarget() {
        let a = Autoscaler(policy: policy(min: 0, max: 10, mode: .targetTracking(metric: .concurrency, target: 0.7)))
        #expect(a.recommendation(load: 0, current: 0) == 0)
        #expect(a.recommendation(load: 1.5, current: 0) == 3)
        #expect(a.recommendation(load: 0, current: 4) == 0)
    }

    @Test func anUnboundedLoadIsCapped() {
        let a = Autoscaler(policy: policy(max: 10))
        #expect(a.recommendation(load: .infinity, current: 2) == Autoscaler.recommendationLimit)
        #expect(a.recommendation(load: .nan, current: 2) == 0)
        #expect(a.recommendation(load: -5, current: 2) == 0)
    }

    @Test func theReasonWithinTheToleranceSaysHowFarOff() {
        var a = Autoscaler(policy: policy(max: 10, mode: .targetTracking(metric: .requestsPerSecond, target: 50)))
        let d = a.evaluate(at: .seconds(0), load: 156, current: 3)
        #expect(d.replicas == 3)
        #expect(d.reason == .withinTolerance(ratio: 1.04))
        #expect(d.reason.description == "within tolerance: metric at 104 % of target")
    }
}

@Suite struct LinearTests {
    let linear = policy(min: 1, max: 10, mode: .linear(metric: .requestsPerSecond, maxLoad: 200))

    @Test func followsRofT() {
        let a = Autoscaler(policy: linear)
        #expect(a.recommendation(load: 0, current: 5) == 1)       // L = 0: Rmin
        #expect(a.recommendation(load: 200, current: 5) == 10)    // L = Lmax: Rmax
        #expect(a.recommendation(load: 1000, current: 5) == 10)   // L > Lmax: still Rmax
        #expect(a.recommendation(load: 100, current: 5) == 6)     // 1 + 9 · 0.5 = 5.5, rounded up
        #expect(a.recommendation(load: 1, current: 5) == 2)       // any load above 0 adds a replica's share
    }

    @Test func floatNoiseAddsNoReplica() {
        let a = Autoscaler(policy: policy(min: 0, max: 10, mode: .linear(metric: .concurrency, maxLoad: 0.7)))
        #expect(a.recommendation(load: 0.7, current: 0) == 10)
        #expect(a.recommendation(load: 0.07, current: 0) == 1)
        #expect(a.recommendation(load: 0.21, current: 0) == 3)
    }

    @Test func theBehaviorAppliesToo() {
        var a = Autoscaler(policy: linear)
        let d = a.evaluate(at: .seconds(0), load: 200, current: 1)
        #expect(d.recommendation == 10)
        #expect(d.replicas == 5)
        #expect(d.reason.description == "scale-up limited by policy 4 replicas / 15s")
    }
}

@Suite struct DefaultBehaviorTests {
    /// The HPA documentation's example: from 10 replicas toward 50, the default scale-up doubles
    /// the count (or adds 4, whichever is more) per 15 s.
    @Test func tenTowardFiftyGoesTwentyFortyFifty() {
        var a = Autoscaler(policy: policy())
        var current = 10
        var seen: [Int] = []
        for step in 0..<4 {
            let d = a.evaluate(at: .seconds(Int64(step) * 15), load: 50, current: current)
            #expect(d.recommendation == 50)
            current = d.replicas
            seen.append(current)
        }
        #expect(seen == [20, 40, 50, 50])
    }

    /// Replicas removed within a period count back: the period started with more.
    @Test func aScaleDownWithinThePeriodCountsBack() {
        var a = Autoscaler(policy: policy(up: ScalingPolicy.Rules(policies: [.init(type: .percent, value: 100, period: .seconds(60))]),
                                          down: ScalingPolicy.Rules(stabilizationWindow: .seconds(0))))
        #expect(a.evaluate(at: .seconds(0), load: 4, current: 10).replicas == 4)
        let up = a.evaluate(at: .seconds(15), load: 100, current: 4)
        #expect(up.replicas == 20)   // (4 + 6) · 2, not 4 · 2
        #expect(up.reason.description == "scale-up limited by policy 100 % / 1m")
    }

    /// A change counts while it is less than a period old: 14 s after doubling, nothing more.
    @Test func aChangeCountsForLessThanItsPeriod() {
        var a = Autoscaler(policy: policy())
        #expect(a.evaluate(at: .seconds(0), load: 50, current: 10).replicas == 20)
        let held = a.evaluate(at: Duration(milliseconds: 14_999), load: 50, current: 20)
        #expect(held.replicas == 20)
        #expect(held.reason.description == "scale-up limited by policy 100 % / 15s")
        #expect(a.evaluate(at: .seconds(15), load: 50, current: 20).replicas == 40)
    }

    @Test func scaleDownWaitsForTheHighestRecommendationOfFiveMinutes() {
        var a = Autoscaler(policy: policy())
        var current = 8
        // 8 replicas are needed for a minute, then 2: the count stays 8 until 300 s after the
        // last recommendation of 8, then drops at once (100 % per 15 s).
        var replicas: [Int] = []
        for step in 0...26 {
            let t = Int64(step) * 15
            let d = a.evaluate(at: .seconds(t), load: t <= 60 ? 8 : 2, current: current)
            current = d.replicas
            replicas.append(current)
            if step == 10 {
                #expect(d.reason.description == "scale-down stabilized: highest recommendation of the last 5m was 8")
            }
        }
        // The last 8 was recommended at 60 s; at 360 s it is exactly a window old and no longer counts.
        #expect(replicas[0...23].allSatisfy { $0 == 8 })
        #expect(replicas[24] == 2)
    }

    @Test func fillsMissingFieldsPerSideAsKubernetesDoes() {
        let b = ScalingBehavior(ScalingPolicy.Behavior(scaleUp: nil, scaleDown: ScalingPolicy.Rules(stabilizationWindow: .seconds(60))))
        #expect(b.scaleUp == ScalingBehavior.defaultScaleUp)
        #expect(b.scaleDown.stabilizationWindow == .seconds(60))
        #expect(b.scaleDown.policies == ScalingBehavior.defaultScaleDown.policies)
        #expect(b.scaleDown.selectPolicy == .max)
        let selected = ScalingBehavior(ScalingPolicy.Behavior(scaleUp: ScalingPolicy.Rules(selectPolicy: .min)))
        #expect(selected.scaleUp.policies == ScalingBehavior.defaultScaleUp.policies)
        #expect(selected.scaleUp.stabilizationWindow == .seconds(0))
        #expect(selected.scaleUp.selectPolicy == .min)
        #expect(ScalingBehavior(nil) == ScalingBehavior(scaleUp: ScalingBehavior.defaultScaleUp, scaleDown: ScalingBehavior.defaultScaleDown))
    }
}

/// TestNormalizeDesiredReplicasWithBehavior: earlier recommendations are recorded by evaluating
/// at their times with the count equal to them (so nothing changes and no event is stored).
@Suite struct StabilizationTests {
    func stabilize(_ earlier: [(Int, ageSeconds: Int64)], current: Int, desired: Int, up: Int64 = 0, down: Int64 = 0) -> Decision {
        var a = Autoscaler(policy: policy(up: ScalingPolicy.Rules(stabilizationWindow: .seconds(up)),
                                          down: ScalingPolicy.Rules(stabilizationWindow: .seconds(down))))
        let now: Int64 = 10_000_000
        for (value, age) in earlier.sorted(by: { $0.ageSeconds > $1.ageSeconds }) {
            _ = a.normalize(value, at: Duration(milliseconds: now - age * 1000), current: value)
        }
        return a.normalize(desired, at: Duration(milliseconds: now), current: current)
    }

    @Test func emptyHistoryScalesDown() {
        #expect(stabilize([], current: 100, desired: 5).replicas == 5)
    }

    @Test func simpleScaleDownStabilization() {
        let d = stabilize([(4, 120), (5, 60)], current: 100, desired: 3, down: 180)
        #expect(d.replicas == 5)
        #expect(d.reason == .scaleDownStabilized(window: .seconds(180), highest: 5))
    }

    @Test func simpleScaleUpStabilization() {
        let d = stabilize([(4, 120), (5, 60)], current: 1, desired: 7, up: 300)
        #expect(d.replicas == 4)
        #expect(d.reason.description == "scale-up stabilized: lowest recommendation of the last 5m was 4")
    }

    @Test func noStabilizationAgainstTheDirection() {
        #expect(stabilize([(1, 120), (2, 60)], current: 100, desired: 3, up: 300).replicas == 3)
        #expect(stabilize([(4, 120), (5, 60)], current: 1, desired: 3, down: 300).replicas == 3)
    }

    @Test func oldRecommendationsNoLongerCount() {
        #expect(stabilize([(10, 600), (9, 540)], current: 100, desired: 3, down: 300).replicas == 3)
        #expect(stabilize([(10, 600), (9, 540)], current: 1, desired: 100, up: 300).replicas == 5)  // then the default rate: 1 + 4
        #expect(stabilize([(10, 600), (4, 60), (5, 120), (9, 540)], current: 100, desired: 3, down: 180).replicas == 5)
        #expect(stabilize([(10, 6000), (6, 60), (5, 120), (9, 180)], current: 1, desired: 100, up: 300).replicas == 5)
    }

    @Test func bothWindowsHoldTheCountWhenTheyDisagree() {
        let down = stabilize([(2, 6000), (3, 180)], current: 2, desired: 1, up: 300, down: 300)
        #expect(down.replicas == 2)
        #expect(down.reason == .scaleDownStabilized(window: .seconds(300), highest: 3))
        #expect(stabilize([(2, 6000), (1, 180)], current: 2, desired: 3, up: 300, down: 300).replicas == 2)
    }

    @Test func aRecommendationExactlyAWindowOldNoLongerCounts() {
        #expect(stabilize([(8, 300)], current: 8, desired: 3, down: 300).replicas == 3)
        #expect(stabilize([(8, 299)], current: 8, desired: 3, down: 300).replicas == 8)
    }
}

/// TestScalingWithRules and TestCalculateScale{Up,Down}Limit…: the rate limits and clamps on a
/// stabilized recommendation, with scale events already stored.
@Suite struct RateLimitTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var upEvents: [Int] = []
        var downEvents: [Int] = []
        var min: Int
        var max: Int
        var up: ScalingPolicy.Rules? = nil
        var down: ScalingPolicy.Rules? = nil
        var current: Int
        var desired: Int
        var expected: Int
        var reason: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "within range", min: 3, max: 8, current: 5, desired: 7, expected: 7, reason: "recommended"),
        Case(name: "below minReplicas", min: 2, max: 8, current: 3, desired: 1, expected: 2, reason: "clamped-to-min-replicas"),
        Case(name: "zero within range when minReplicas is 0", min: 0, max: 10, current: 1, desired: 0, expected: 0, reason: "recommended"),
        Case(name: "maxReplicas below the scale-up limit", min: 1, max: 10, current: 20, desired: 1000, expected: 10, reason: "clamped-to-max-replicas"),
        Case(name: "more than maxReplicas", min: 100, max: 150, current: 100, desired: 1000, expected: 150, reason: "clamped-to-max-replicas"),
        Case(name: "1 % rounds up to one more", min: 1, max: 2000, up: rules(percent: 1, 60, window: 0), current: 3, desired: 1000, expected: 4, reason: "scale-up-limited"),
        Case(name: "scale-down limit above minReplicas", min: 3, max: 2000, down: rules(replicas: 20, 60, window: 0), current: 1000, desired: 3, expected: 980, reason: "scale-down-limited"),
        Case(name: "default scale-up", min: 1, max: 1000, current: 10, desired: 50, expected: 20, reason: "scale-up-limited"),
        Case(name: "replicas policy larger", min: 1, max: 1000, up: rules(replicas: 100, 60, percent: 100, 60, window: 0), current: 10, desired: 500, expected: 110, reason: "scale-up-limited"),
        Case(name: "percent policy larger", min: 1, max: 1000, up: rules(replicas: 2, 60, percent: 100, 60, window: 0), current: 10, desired: 500, expected: 20, reason: "scale-up-limited"),
        Case(name: "large replicas policy", min: 1, max: 1000, up: rules(replicas: 100, 60, window: 0), current: 10, desired: 50, expected: 50, reason: "recommended"),
        Case(name: "large percent policy", min: 1, max: 1000, up: rules(replicas: 10000, 60, window: 0), current: 10, desired: 50, expected: 50, reason: "recommended"),
        Case(name: "replicas policy limits", min: 1, max: 1000, up: rules(replicas: 30, 60, window: 0), current: 10, desired: 50, expected: 40, reason: "scale-up-limited"),
        Case(name: "percent policy limits", min: 1, max: 1000, up: rules(percent: 200, 60, window: 0), current: 10, desired: 50, expected: 30, reason: "scale-up-limited"),
        Case(name: "scale-down percent larger", min: 1, max: 1000, down: rules(replicas: 20, 60, percent: 1, 60, window: 300), current: 100, desired: 2, expected: 80, reason: "scale-down-limited"),
        Case(name: "scale-down replicas larger", min: 1, max: 1000, down: rules(replicas: 2, 60, percent: 1, 60, window: 300), current: 100, desired: 2, expected: 98, reason: "scale-down-limited"),
        Case(name: "scale-down to minReplicas with a large replicas policy", min: 1, max: 1000, down: rules(replicas: 100, 60, window: 300), current: 10, desired: 0, expected: 1, reason: "clamped-to-min-replicas"),
        Case(name: "scale-down to minReplicas with a large percent policy", min: 5, max: 1000, down: rules(percent: 100, 60, window: 300), current: 10, desired: 2, expected: 5, reason: "clamped-to-min-replicas"),
        Case(name: "scale-down replicas policy limits", min: 1, max: 1000, down: rules(replicas: 5, 60, window: 300), current: 10, desired: 2, expected: 5, reason: "scale-down-limited"),
        Case(name: "scale-down percent rounds down", min: 0, max: 10, down: rules(percent: 50, 60, window: 0), current: 5, desired: 0, expected: 2, reason: "scale-down-limited"),
        Case(name: "scale-down percent policy allows it", min: 1, max: 1000, down: rules(percent: 50, 60, window: 300), current: 10, desired: 5, expected: 5, reason: "recommended"),
        // With earlier events (100 s, 60 s and 20 s ago for three; one exactly 60 s old no longer counts for a 60 s period).
        Case(name: "maxReplicas with a large replicas policy and events", upEvents: [1, 5, 9], min: 1, max: 200, up: rules(replicas: 300, 60, window: 0), current: 100, desired: 500, expected: 200, reason: "clamped-to-max-replicas"),
        Case(name: "maxReplicas with a large percent policy and events", upEvents: [1, 5, 9], min: 1, max: 200, up: rules(percent: 10000, 60, window: 0), current: 100, desired: 500, expected: 200, reason: "clamped-to-max-replicas"),
        Case(name: "recent scale-ups use up the period", upEvents: [1, 5, 9], min: 1, max: 1000, up: rules(replicas: 5, 120, window: 0), current: 100, desired: 500, expected: 100, reason: "scale-up-limited"),
        Case(name: "replicas policy after scale-ups", upEvents: [1, 5, 9], min: 1, max: 1000, up: rules(replicas: 150, 120, window: 0), current: 100, desired: 500, expected: 235, reason: "scale-up-limited"),
        Case(name: "percent policy after scale-ups", upEvents: [1, 5, 9], min: 1, max: 1000, up: rules(percent: 200, 120, window: 0), current: 100, desired: 500, expected: 255, reason: "scale-up-limited"),
        Case(name: "percent policy after scale-ups and downs", upEvents: [4], downEvents: [2], min: 1, max: 1000, up: rules(percent: 300, 300, window: 0), current: 6, desired: 24, expected: 16, reason: "scale-up-limited"),
        Case(name: "default scale-down after events", downEvents: [1, 5, 9], min: 1, max: 1000, current: 10, desired: 5, expected: 5, reason: "recommended"),
        Case(name: "minReplicas with a large replicas policy and events", downEvents: [1, 5, 9], min: 1, max: 1000, down: rules(replicas: 115, 120, window: 300), current: 100, desired: 0, expected: 1, reason: "clamped-to-min-replicas"),
        Case(name: "minReplicas 5 with a large replicas policy and events", downEvents: [1, 5, 9], min: 5, max: 1000, down: rules(replicas: 130, 120, window: 300), current: 100, desired: 0, expected: 5, reason: "clamped-to-min-replicas"),
        Case(name: "minReplicas with a 100 % policy and events", downEvents: [1, 5, 9], min: 5, max: 1000, down: rules(percent: 100, 120, window: 300), current: 100, desired: 2, expected: 5, reason: "clamped-to-min-replicas"),
        Case(name: "recent scale-downs use up the period", downEvents: [1, 5, 9], min: 1, max: 1000, down: rules(replicas: 5, 120, window: 300), current: 100, desired: 2, expected: 100, reason: "scale-down-limited"),
        Case(name: "percent policy after scale-downs", downEvents: [2, 4, 6], min: 1, max: 1000, down: rules(percent: 50, 120, window: 300), current: 100, desired: 0, expected: 56, reason: "scale-down-limited"),
        Case(name: "scale-down percent after ups and downs", upEvents: [2], downEvents: [4], min: 1, max: 1000, down: rules(percent: 50, 180, window: 0), current: 10, desired: 1, expected: 6, reason: "scale-down-limited"),
        Case(name: "scale-downs prevent more", downEvents: [10, 10, 10], min: 1, max: 1000, down: rules(percent: 10, 120, window: 300), current: 100, desired: 0, expected: 100, reason: "scale-down-limited"),
        Case(name: "scale-downs still allow more", downEvents: [10, 10, 10], min: 1, max: 1000, down: rules(percent: 1000, 120, window: 300), current: 10, desired: 5, expected: 5, reason: "recommended"),
        Case(name: "outdated up events, one policy", upEvents: [8, 12, 9, 11], min: 1, max: 1000, up: rules(replicas: 1000, 60, window: 0), current: 100, desired: 200, expected: 200, reason: "recommended"),
        Case(name: "up events, two periods", upEvents: [8, 12, 9, 11], min: 1, max: 1000, up: rules(replicas: 1000, 120, percent: 100, 60, window: 0), current: 100, desired: 200, expected: 200, reason: "recommended"),
        Case(name: "outdated down events, one policy", downEvents: [8, 12, 9, 11], min: 1, max: 1000, down: rules(replicas: 1000, 60, window: 300), current: 100, desired: 5, expected: 5, reason: "recommended"),
        Case(name: "down events, two periods", downEvents: [8, 12, 9, 11], min: 1, max: 1000, down: rules(replicas: 1000, 120, percent: 100, 60, window: 300), current: 100, desired: 5, expected: 5, reason: "recommended"),
    ]

    @Test(arguments: cases) func limits(_ c: Case) {
        var a = Autoscaler(policy: policy(min: c.min, max: c.max, up: c.up, down: c.down))
        let now: Int64 = 10_000_000
        // Up changes are positive, down changes negative, in time order.
        let timeline = (spread(c.upEvents, before: now) + spread(c.downEvents.map { -$0 }, before: now)).sorted { $0.time < $1.time }
        for event in timeline { a.history.record(event.change, at: event.time) }
        let d = a.normalize(c.desired, at: Duration(milliseconds: now), current: c.current)
        #expect(d.replicas == c.expected)
        #expect(d.reason.id == c.reason)
    }

    @Test func selectPolicyMinTakesTheSmallestChange() {
        let both = [ScalingPolicy.Policy(type: .replicas, value: 2, period: .seconds(60)),
                    ScalingPolicy.Policy(type: .percent, value: 50, period: .seconds(60))]
        var up = Autoscaler(policy: policy(up: ScalingPolicy.Rules(stabilizationWindow: .seconds(300), policies: both, selectPolicy: .min)))
        let u = up.normalize(10, at: .seconds(0), current: 1)
        #expect(u.replicas == 2)     // min(1 + 2, ⌈1 · 1.5⌉)
        #expect(u.reason == .scaleUpLimited(both[1]))
        var down = Autoscaler(policy: policy(min: 0, down: ScalingPolicy.Rules(stabilizationWindow: .seconds(0), policies: both, selectPolicy: .min)))
        let d = down.normalize(0, at: .seconds(0), current: 5)
        #expect(d.replicas == 3)     // max(5 − 2, ⌊5 · 0.5⌋)
        #expect(d.reason.description == "scale-down limited by policy 2 replicas / 1m")
    }

    @Test func selectPolicyDisabledStopsThatDirection() {
        var up = Autoscaler(policy: policy(up: ScalingPolicy.Rules(selectPolicy: .disabled), down: ScalingPolicy.Rules(stabilizationWindow: .seconds(0))))
        let u = up.evaluate(at: .seconds(0), load: 10, current: 5)
        #expect(u.replicas == 5)
        #expect(u.reason == .scaleUpDisabled)
        #expect(up.evaluate(at: .seconds(15), load: 2, current: 5).replicas == 2)
        var down = Autoscaler(policy: policy(down: ScalingPolicy.Rules(stabilizationWindow: .seconds(0), selectPolicy: .disabled)))
        let d = down.evaluate(at: .seconds(0), load: 2, current: 5)
        #expect(d.replicas == 5)
        #expect(d.reason == .scaleDownDisabled)
        #expect(down.evaluate(at: .seconds(15), load: 9, current: 5).replicas == 9)
    }
}

@Suite struct ClampTests {
    @Test func aCountAboveMaxReplicasGoesStraightToIt() {
        var a = Autoscaler(policy: policy(min: 2, max: 10))
        let d = a.evaluate(at: .seconds(0), load: 1, current: 40)
        #expect(d.replicas == 10)
        #expect(d.reason.description == "current count above maxReplicas 10")
    }

    @Test func aCountBelowMinReplicasGoesStraightToIt() {
        var a = Autoscaler(policy: policy(min: 2, max: 10))
        let d = a.evaluate(at: .seconds(0), load: 0, current: 0)
        #expect(d.replicas == 2)
        #expect(d.reason == .raisedToMinReplicas(2))
    }

    @Test func theRecommendationIsClampedAfterTheRateLimit() {
        var a = Autoscaler(policy: policy(min: 2, max: 10))
        let high = a.evaluate(at: .seconds(0), load: 100, current: 8)
        #expect(high.replicas == 10)
        #expect(high.reason == .clampedToMaxReplicas(10))
        var b = Autoscaler(policy: policy(min: 2, max: 10, down: ScalingPolicy.Rules(stabilizationWindow: .seconds(0))))
        let low = b.evaluate(at: .seconds(0), load: 0, current: 8)
        #expect(low.replicas == 2)
        #expect(low.reason.description == "clamped to minReplicas 2")
    }

    @Test func scaleToZeroAndBack() {
        var a = Autoscaler(policy: policy(min: 0, max: 10, down: ScalingPolicy.Rules(stabilizationWindow: .seconds(30))))
        #expect(a.evaluate(at: .seconds(0), load: 3, current: 0).replicas == 3)
        #expect(a.evaluate(at: .seconds(15), load: 0, current: 3).replicas == 3)
        // At 30 s the recommendation of 3 is exactly a window old: it no longer counts.
        #expect(a.evaluate(at: .seconds(30), load: 0, current: 3).replicas == 0)
        #expect(a.evaluate(at: .seconds(45), load: 2, current: 0).replicas == 2)
    }
}
