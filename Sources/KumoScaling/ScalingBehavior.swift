import KumoManifest

/// A policy's `behavior` with every default filled in, as the Kubernetes HPA fills its own
/// (`GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules` in `pkg/apis/autoscaling/v2`): each
/// field a side leaves out takes the default of that side, field by field, and an omitted side
/// takes all of them. An empty `policies` list counts as omitted (Kubernetes requires one).
///
/// This is the one place the defaults are applied; both policy kinds use them.
public struct ScalingBehavior: Sendable, Equatable {
    /// The limits of one direction.
    public struct Rules: Sendable, Equatable {
        /// Recommendations younger than this are considered (one exactly this old no longer is).
        public var stabilizationWindow: Duration
        public var policies: [ScalingPolicy.Policy]
        public var selectPolicy: ScalingPolicy.Rules.Select

        public init(stabilizationWindow: Duration, policies: [ScalingPolicy.Policy], selectPolicy: ScalingPolicy.Rules.Select) {
            self.stabilizationWindow = stabilizationWindow
            self.policies = policies
            self.selectPolicy = selectPolicy
        }

        /// `rules` over `defaults`, field by field.
        public init(_ rules: ScalingPolicy.Rules?, defaults: Rules) {
            self = defaults
            guard let rules else { return }
            if let window = rules.stabilizationWindow { stabilizationWindow = window }
            if !rules.policies.isEmpty { policies = rules.policies }
            if let select = rules.selectPolicy { selectPolicy = select }
        }

        /// The longest policy period: older changes never count again.
        var longestPeriod: Duration { policies.map(\.period).max() ?? Duration(milliseconds: 0) }
    }

    public var scaleUp: Rules
    public var scaleDown: Rules

    /// The HPA's scale-up default: no window; add 4 replicas or double, whichever is more, per 15 s.
    public static let defaultScaleUp = Rules(
        stabilizationWindow: Duration(milliseconds: 0),
        policies: [
            ScalingPolicy.Policy(type: .replicas, value: 4, period: .seconds(15)),
            ScalingPolicy.Policy(type: .percent, value: 100, period: .seconds(15)),
        ],
        selectPolicy: .max)

    /// The HPA's scale-down default: the highest recommendation of the last 300 s; then remove
    /// up to all replicas per 15 s.
    public static let defaultScaleDown = Rules(
        stabilizationWindow: .seconds(300),
        policies: [ScalingPolicy.Policy(type: .percent, value: 100, period: .seconds(15))],
        selectPolicy: .max)

    public init(scaleUp: Rules, scaleDown: Rules) {
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
    }

    public init(_ behavior: ScalingPolicy.Behavior?) {
        scaleUp = Rules(behavior?.scaleUp, defaults: Self.defaultScaleUp)
        scaleDown = Rules(behavior?.scaleDown, defaults: Self.defaultScaleDown)
    }
}

extension ScalingPolicy.Policy {
    /// `4 replicas / 15s`, `100 % / 15s`.
    public var summary: String {
        switch type {
        case .replicas: "\(value) replica\(value == 1 ? "" : "s") / \(period)"
        case .percent: "\(value) % / \(period)"
        }
    }
}
