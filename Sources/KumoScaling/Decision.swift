import KumoManifest

/// What one evaluation decided: the count to run, the metric's own recommendation, and the rule
/// that bound the count. The caller performs the change; the autoscaler counts it as done.
public struct Decision: Sendable, Equatable {
    /// The count the evaluation was given.
    public var current: Int
    /// The count to run now, in [minReplicas, maxReplicas] (or the current count when nothing
    /// changes).
    public var replicas: Int
    /// What the metric alone asks for: the policy's formula before any window, rate limit or
    /// clamp (a `linear` one is already within [minReplicas, maxReplicas]).
    public var recommendation: Int
    /// Why `replicas` is what it is: the last rule that moved it away from the recommendation,
    /// or why nothing did.
    public var reason: Reason

    public init(current: Int, replicas: Int, recommendation: Int, reason: Reason) {
        self.current = current
        self.replicas = replicas
        self.recommendation = recommendation
        self.reason = reason
    }

    /// The reason a decision gives, in the order the autoscaler applies its rules.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The count is the recommendation: no window, limit or clamp changed it.
        case recommended
        /// Target tracking: the per-replica metric is within 10 % of the target (`ratio` is
        /// metric / target), so the count stays.
        case withinTolerance(ratio: Double)
        /// The current count was below minReplicas: raised to it at once (the HPA does the same).
        case raisedToMinReplicas(Int)
        /// The current count was above maxReplicas: lowered to it at once.
        case loweredToMaxReplicas(Int)
        /// A scale-up held back by the scale-up window, whose lowest recommendation is `lowest`.
        case scaleUpStabilized(window: Duration, lowest: Int)
        /// A scale-down held back by the scale-down window, whose highest recommendation is `highest`.
        case scaleDownStabilized(window: Duration, highest: Int)
        /// A scale-up cut to what the selected policy allows in its period.
        case scaleUpLimited(ScalingPolicy.Policy)
        /// A scale-down cut to what the selected policy allows in its period.
        case scaleDownLimited(ScalingPolicy.Policy)
        /// `selectPolicy: disabled` on the scale-up side.
        case scaleUpDisabled
        /// `selectPolicy: disabled` on the scale-down side.
        case scaleDownDisabled
        case clampedToMaxReplicas(Int)
        case clampedToMinReplicas(Int)

        /// A stable identifier, for logs and metric labels.
        public var id: String {
            switch self {
            case .recommended: "recommended"
            case .withinTolerance: "within-tolerance"
            case .raisedToMinReplicas: "below-min-replicas"
            case .loweredToMaxReplicas: "above-max-replicas"
            case .scaleUpStabilized: "scale-up-stabilized"
            case .scaleDownStabilized: "scale-down-stabilized"
            case .scaleUpLimited: "scale-up-limited"
            case .scaleDownLimited: "scale-down-limited"
            case .scaleUpDisabled: "scale-up-disabled"
            case .scaleDownDisabled: "scale-down-disabled"
            case .clampedToMaxReplicas: "clamped-to-max-replicas"
            case .clampedToMinReplicas: "clamped-to-min-replicas"
            }
        }

        /// One line for a person: `scale-up limited by policy 4 replicas / 15s`.
        public var description: String {
            switch self {
            case .recommended: "as recommended"
            case .withinTolerance(let ratio):
                "within tolerance: metric at \(Int((ratio * 100).rounded())) % of target"
            case .raisedToMinReplicas(let n): "current count below minReplicas \(n)"
            case .loweredToMaxReplicas(let n): "current count above maxReplicas \(n)"
            case .scaleUpStabilized(let window, let lowest):
                "scale-up stabilized: lowest recommendation of the last \(window) was \(lowest)"
            case .scaleDownStabilized(let window, let highest):
                "scale-down stabilized: highest recommendation of the last \(window) was \(highest)"
            case .scaleUpLimited(let policy): "scale-up limited by policy \(policy.summary)"
            case .scaleDownLimited(let policy): "scale-down limited by policy \(policy.summary)"
            case .scaleUpDisabled: "scale-up disabled by selectPolicy"
            case .scaleDownDisabled: "scale-down disabled by selectPolicy"
            case .clampedToMaxReplicas(let n): "clamped to maxReplicas \(n)"
            case .clampedToMinReplicas(let n): "clamped to minReplicas \(n)"
            }
        }
    }
}
