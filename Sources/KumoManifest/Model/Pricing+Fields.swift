/// The keys of `pricing:`: the validator's known keys and bounds and the JSON Schema come from
/// these tables.
extension Pricing {
    public static let priceBounds = Field.Bounds.atLeast(0)

    public static let fields: Field.Table = [
        Field("region", .string(examples: regions.keys.sorted()), default: .string(builtIn.region),
              "Region whose price table is the default, e.g. `us-east-1`."),
        Field("functions", .object(functionFields), "Function prices."),
        Field("services", .object(serviceFields), "Service prices."),
    ]

    public static let functionFields: Field.Table = [
        Field("perGbSecond", .number(priceBounds), "Price per GB-second of function run time."),
        Field("perMillionRequests", .number(priceBounds), "Price per million invocations."),
    ]

    public static let serviceFields: Field.Table = [
        Field("perVcpuHour", .number(priceBounds), "Price per vCPU-hour of a replica."),
        Field("perGbHour", .number(priceBounds), "Price per GB-hour of a replica's memory."),
    ]

    static let keys = fields.keys
    static let functionKeys = functionFields.keys
    static let serviceKeys = serviceFields.keys
}
