/// The keys of `estimates:`: the validator's known keys and ranges and the JSON Schema come from
/// these tables.
extension Estimates {
    public static let fields: Field.Table = [
        Field("functions", .named("estimate", .object(Line.fields)), "T(n) = init + each · n for n warm workers started (plus register per function and stop per worker stopped)."),
        Field("services", .named("estimate", .object(Line.fields)), "S(m) = init + each · m for m replicas started (plus register per service and stop per replica drained)."),
        Field("rules", .named("ruleEstimate", .object(Line.ruleFields)), "E(k) = init + each · k for k rules and scaling policies registered."),
    ]

    static let keys = fields.keys
}

extension Estimates.Line {
    public static let range = Duration(milliseconds: 0)...Duration.hours(1)
    public static let parallelismRange = 1...1024

    public static let fields: Field.Table = [
        Field("init", .duration(range), "Fixed time of a wave with actions of this kind, e.g. `10ms`."),
        Field("each", .duration(range), "Per process started (a warm worker, a replica up to its first healthy probe); per registration for rules, e.g. `90ms`."),
        Field("register", .duration(range), "Per resource created, updated or replaced: the runtime registering it, e.g. `5ms`."),
        Field("remove", .duration(range), "Per resource deleted or replaced: the runtime removing it, e.g. `8ms`."),
        Field("stop", .duration(range), "Per process stopped (a worker, a replica drained), e.g. `5ms`."),
        Field("parallelism", .integer(parallelismRange), "Process starts the machine sustains at once; a wave uses min(--parallelism, this)."),
    ]

    static let keys = fields.keys

    /// Rules and scaling policies start no processes: only init and each (per registration).
    public static let ruleFields = Field.Table(fields.fields.filter { $0.name == "init" || $0.name == "each" })

    static let ruleKeys = ruleFields.keys
}
