/// The keys of a `usage:` entry: the validator's known keys and ranges and the JSON Schema come
/// from this table.
extension Usage {
    public static let monthlyRequestsRange = 0...1_000_000_000_000
    public static let averageDurationRange = Duration(milliseconds: 1)...Duration.seconds(900)

    public static let fields: Field.Table = [
        Field("monthlyRequests", .integer(monthlyRequestsRange), required: true, "Invocations per month."),
        Field("averageDuration", .duration(averageDurationRange), required: true, "Average run time of one invocation, e.g. `120ms`."),
    ]

    static let keys = fields.keys
}
