/// The keys of `estimates:`: the validator's known keys and ranges and the JSON Schema come from
/// these tables.
extension Estimates {
    public static let fields: Field.Table = [
        Field("functions", .named("estimate", .object(Line.fields)), "T(n) = init + each · n for n functions."),
        Field("services", .named("estimate", .object(Line.fields)), "S(m) = init + each · m for m services."),
        Field("rules", .named("estimate", .object(Line.fields)), "E(k) = init + each · k for k rules."),
    ]

    static let keys = fields.keys
}

extension Estimates.Line {
    public static let range = Duration(milliseconds: 0)...Duration.hours(1)

    public static let fields: Field.Table = [
        Field("init", .duration(range), "Fixed time of a deployment step, e.g. `400ms`."),
        Field("each", .duration(range), "Additional time per resource, e.g. `150ms`."),
    ]

    static let keys = fields.keys
}
