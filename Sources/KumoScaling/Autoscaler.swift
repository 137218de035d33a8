import KumoManifest

/// The autoscaler of one scaling policy: a value-type state machine that the live loop and
/// `kumo simulate` call alike, every interval, with the time, the metric and the current count,
/// and that answers with the count to run and why.
///
/// It carries over the Kubernetes HPA's decision (`pkg/controller/podautoscaler`) step by step:
/// 1. a current count outside [minReplicas, maxReplicas] goes straight to the bound;
/// 2. otherwise the policy's formula gives the recommendation (``recommendation(load:current:)``),
///    which is recorded;
/// 3. stabilization: the count may rise only to the lowest recommendation of the scale-up window
///    and fall only to the highest of the scale-down window (the current one included);
/// 4. rate limits: each policy allows a change relative to the count at the start of its period
///    (the current count less the changes younger than the period); `selectPolicy` takes the
///    policy allowing the most change (`max`), the least (`min`), or none (`disabled`);
/// 5. the [minReplicas, maxReplicas] clamp.
///
/// The returned count is taken to be applied: its change counts against the policies' periods.
/// Times are the caller's clock (any origin) and never decrease. Not shared: one owner (a task
/// or the simulator) calls it; a copy is an independent autoscaler with the same history.
public struct Autoscaler: Sendable {
    public let policy: ScalingPolicy
    public let behavior: ScalingBehavior
    /// The HPA's tolerance: no change while |metric / target − 1| ≤ 0.1.
    public static let tolerance = 0.1
    /// A recommendation is never more than this, whatever the load (no overflow on ∞).
    public static let recommendationLimit = 1_000_000

    private var scaleUpWindow: RecommendationWindow
    private var scaleDownWindow: RecommendationWindow
    var history: ScaleHistory

    public init(policy: ScalingPolicy) {
        self.policy = policy
        behavior = ScalingBehavior(policy.behavior)
        scaleUpWindow = RecommendationWindow(keeping: .lowest, length: behavior.scaleUp.stabilizationWindow.milliseconds)
        scaleDownWindow = RecommendationWindow(keeping: .highest, length: behavior.scaleDown.stabilizationWindow.milliseconds)
        history = ScaleHistory(horizon: max(behavior.scaleUp.longestPeriod, behavior.scaleDown.longestPeriod).milliseconds)
    }

    /// Decides the count at `time` for `load`, the policy's metric summed over all replicas
    /// (requests per second, busy workers, …; negative or NaN counts as 0), given the `current`
    /// count.
    public mutating func evaluate(at time: Duration, load: Double, current: Int) -> Decision {
        let current = max(0, current)
        let (recommendation, ratio) = Self.recommendation(policy.mode, minReplicas: policy.minReplicas,
                                                          maxReplicas: policy.maxReplicas, load: load, current: current)
        if current < policy.minReplicas {
            return applied(Decision(current: current, replicas: policy.minReplicas, recommendation: recommendation,
                                    reason: .raisedToMinReplicas(policy.minReplicas)), at: time)
        }
        if current > policy.maxReplicas {
            return applied(Decision(current: current, replicas: policy.maxReplicas, recommendation: recommendation,
                                    reason: .loweredToMaxReplicas(policy.maxReplicas)), at: time)
        }
        var decision = normalize(recommendation, at: time, current: current)
        if let ratio, recommendation == current, decision.replicas == current { decision.reason = .withinTolerance(ratio: ratio) }
        return decision
    }

    /// The policy's formula alone, with no history: `linear` R = Rmin + (Rmax − Rmin) ·
    /// min(L, Lmax) / Lmax rounded up and clamped to [minReplicas, maxReplicas]; `targetTracking`
    /// the HPA's ceil(current · m / target) with m = L / current, the current count within the
    /// tolerance, and ceil(L / target) from zero.
    public func recommendation(load: Double, current: Int) -> Int {
        Self.recommendation(policy.mode, minReplicas: policy.minReplicas, maxReplicas: policy.maxReplicas,
                            load: load, current: max(0, current)).replicas
    }

    /// Steps 3 to 5 on a recommendation already made: records it and returns the decision.
    public mutating func normalize(_ recommendation: Int, at time: Duration, current: Int) -> Decision {
        let now = time.milliseconds
        // Stabilization: the HPA starts from the current count and keeps it between the lowest
        // recent recommendation (scale-up window) and the highest (scale-down window).
        let lowest = min(recommendation, scaleUpWindow.extreme(at: now) ?? recommendation)
        let highest = max(recommendation, scaleDownWindow.extreme(at: now) ?? recommendation)
        scaleUpWindow.record(recommendation, at: now)
        scaleDownWindow.record(recommendation, at: now)
        var stabilized = current
        if stabilized < lowest { stabilized = lowest }
        if stabilized > highest { stabilized = highest }
        var reason = Decision.Reason.recommended
        if stabilized != recommendation {
            reason = recommendation >= current
                ? .scaleUpStabilized(window: behavior.scaleUp.stabilizationWindow, lowest: lowest)
                : .scaleDownStabilized(window: behavior.scaleDown.stabilizationWindow, highest: highest)
        }
        var replicas = stabilized
        if stabilized > current {
            let (limit, limiting) = limit(behavior.scaleUp, up: true, current: current, at: now)
            if stabilized > min(limit, policy.maxReplicas) {
                if policy.maxReplicas > limit {
                    replicas = limit
                    reason = limiting.map(Decision.Reason.scaleUpLimited) ?? .scaleUpDisabled
                } else {
                    replicas = policy.maxReplicas
                    reason = .clampedToMaxReplicas(policy.maxReplicas)
                }
            }
        } else if stabilized < current {
            let (limit, limiting) = limit(behavior.scaleDown, up: false, current: current, at: now)
            if stabilized < max(limit, policy.minReplicas) {
                if policy.minReplicas < limit {
                    replicas = limit
                    reason = limiting.map(Decision.Reason.scaleDownLimited) ?? .scaleDownDisabled
                } else {
                    replicas = policy.minReplicas
                    reason = .clampedToMinReplicas(policy.minReplicas)
                }
            }
        }
        return applied(Decision(current: current, replicas: replicas, recommendation: recommendation, reason: reason), at: time)
    }

    private mutating func applied(_ decision: Decision, at time: Duration) -> Decision {
        history.record(decision.replicas - decision.current, at: time.milliseconds)
        return decision
    }

    /// The bound the policies of `rules` put on a change from `current`: the most replicas
    /// (`up`) or the fewest they allow now, never past `current` the other way, and the policy
    /// that sets it (nil when the direction is disabled).
    private func limit(_ rules: ScalingBehavior.Rules, up: Bool, current: Int, at now: Int64) -> (Int, ScalingPolicy.Policy?) {
        guard rules.selectPolicy != .disabled else { return (current, nil) }
        var best: (limit: Int, policy: ScalingPolicy.Policy)?
        for policy in rules.policies {
            let start = current - history.netChange(within: policy.period.milliseconds, at: now)
            let proposed = switch (policy.type, up) {
            case (.replicas, true): start + policy.value
            case (.replicas, false): start - policy.value
            // Rounded up: a percentage of a small count must still allow one more replica.
            case (.percent, true): Int((Double(start) * (1 + Double(policy.value) / 100)).rounded(.up))
            // Truncated toward zero, as Go's conversion to int32 does (more than 100 % goes below zero).
            case (.percent, false): Int((Double(start) * (1 - Double(policy.value) / 100)).rounded(.towardZero))
            }
            // `max` keeps the policy allowing the most change, `min` the least; the first of equals.
            if let b = best {
                let more = up ? proposed > b.limit : proposed < b.limit
                let less = up ? proposed < b.limit : proposed > b.limit
                guard rules.selectPolicy == .min ? less : more else { continue }
            }
            best = (proposed, policy)
        }
        guard let best else { return (current, nil) }
        return (up ? max(best.limit, current) : min(best.limit, current), best.policy)
    }

    /// The formula of `mode`, and for target tracking the metric / target ratio when the count
    /// stays within the tolerance.
    static func recommendation(_ mode: ScalingPolicy.Mode, minReplicas: Int, maxReplicas: Int,
                               load: Double, current: Int) -> (replicas: Int, ratio: Double?) {
        let load = load.isNaN || load < 0 ? 0 : load
        switch mode {
        case .linear(_, let maxLoad):
            let share = min(load, maxLoad) / maxLoad
            let r = Double(minReplicas) + Double(maxReplicas - minReplicas) * share
            // Float noise (a product meant to be 7 landing on 7.000000000000001) must not add a replica.
            let count = ceiling(r - 1e-9)
            return (min(max(count, minReplicas), maxReplicas), nil)
        case .targetTracking(_, let target):
            guard current > 0 else { return (ceiling(load / target), nil) }
            let ratio = load / Double(current) / target
            if abs(1 - ratio) <= tolerance { return (current, ratio) }
            return (ceiling(ratio * Double(current)), nil)
        }
    }

    /// ⌈x⌉ as a count, at most ``recommendationLimit``.
    static func ceiling(_ x: Double) -> Int {
        guard x < Double(recommendationLimit) else { return recommendationLimit }
        return max(0, Int(x.rounded(.up)))
    }
}
