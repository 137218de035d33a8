/// The keys of a scaling policy and its parts: the reader's known keys and ranges and the JSON
/// Schema come from these tables.
extension ScalingPolicy {
    public static let maxReplicasRange = 1...replicasRange.upperBound
    /// `maxLoad` and `target` must be more than 0.
    public static let loadBounds = Field.Bounds.above(0)
    /// The most a utilization metric's target may be.
    public static let utilizationMaximum = 1.0

    public static let fields: Field.Table = Field.Table([
        Field("target", .string(pattern: "^(function|service)\\.[A-Za-z][A-Za-z0-9_-]*$"), required: true,
              "Address of the scaled resource: `function.NAME` or `service.NAME`."),
        Field("minReplicas", .integer(replicasRange), default: .integer(defaultMinReplicas), "Fewest replicas."),
        Field("maxReplicas", .integer(maxReplicasRange), required: true, "Most replicas."),
        Field("linear", .object(linearFields), "Linear policy R(t) = Rmin + (Rmax − Rmin) · L(t) / Lmax."),
        Field("targetTracking", .object(targetTrackingFields),
              "Target tracking (Kubernetes HPA formula, tolerance 0.1): desired = ceil(current · metric / target)."),
        Field("behavior", .object(Behavior.fields), "Rate limits and stabilization, as in the Kubernetes HPA."),
    ], constraints: [.exactlyOne(["linear", "targetTracking"])])

    public static let linearFields: Field.Table = [
        Field("metric", .choice(Metric.allCases.map(\.rawValue)), required: true, "Load signal L(t)."),
        Field("maxLoad", .number(loadBounds), required: true, "Load Lmax at which maxReplicas is reached."),
    ]

    public static let targetTrackingFields = Field.Table([
        Field("metric", .choice(Metric.allCases.map(\.rawValue)), required: true, "Metric to keep at the target, per replica."),
        Field("target", .number(loadBounds), required: true,
              "Target value of the metric per replica; for the utilizations `concurrency` and `cpu` a fraction of one replica's capacity, e.g. `0.7`."),
    ], constraints: [
        .maximum("target", utilizationMaximum, when: "metric", in: Metric.allCases.filter(\.isUtilization).map(\.rawValue)),
    ])

    static let keys = fields.keys
    static let linearKeys = linearFields.keys
    static let targetTrackingKeys = targetTrackingFields.keys
}

extension ScalingPolicy.Metric {
    /// `concurrency` and `cpu` are fractions of a replica's capacity: targets of at most
    /// ``ScalingPolicy/utilizationMaximum``.
    public var isUtilization: Bool { self == .concurrency || self == .cpu }
}

extension ScalingPolicy.Behavior {
    public static let fields: Field.Table = [
        Field("scaleUp", .object(ScalingPolicy.Rules.fields(keeping: "lowest")), "Limits when adding replicas."),
        Field("scaleDown", .object(ScalingPolicy.Rules.fields(keeping: "highest")), "Limits when removing replicas."),
    ]

    static let keys = fields.keys
}

extension ScalingPolicy.Rules {
    public static let stabilizationWindowRange = Duration(milliseconds: 0)...Duration.hours(1)

    /// The fields of `scaleUp` (which keeps the `lowest` recommendation) or `scaleDown`.
    public static func fields(keeping recommendation: String) -> Field.Table {
        [
            Field("stabilizationWindow", .duration(stabilizationWindowRange),
                  "Kumo uses the \(recommendation) recommendation seen over this window, e.g. `300s`."),
            Field("policies", .list(.object(ScalingPolicy.Policy.fields)), "Limits on how fast the replica count may change."),
            Field("selectPolicy", .choice(Select.allCases.map(\.rawValue)),
                  "Which policy wins when several apply: `max`, `min`, or `disabled` to stop changes in this direction."),
        ]
    }

    static let keys = fields(keeping: "").keys
}

extension ScalingPolicy.Policy {
    public static let valueRange = 1...1000
    public static let periodRange = Duration.seconds(1)...Duration.minutes(30)

    public static let fields: Field.Table = [
        Field("type", .choice(Kind.allCases.map(\.rawValue)), required: true, "`percent` of the current replicas or a fixed number of `replicas`."),
        Field("value", .integer(valueRange), required: true, "Amount allowed per period."),
        Field("period", .duration(periodRange), required: true, "Length of the period the value applies to, e.g. `15s`."),
    ]

    static let keys = fields.keys
}
