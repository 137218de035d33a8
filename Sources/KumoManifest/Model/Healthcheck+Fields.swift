/// The keys of a healthcheck: the reader's known keys and ranges and the JSON Schema come from
/// this table.
extension Healthcheck {
    public static let intervalRange = Duration(milliseconds: 100)...Duration.hours(1)
    public static let timeoutRange = Duration(milliseconds: 10)...Duration.minutes(5)
    public static let retriesRange = 1...100
    public static let startPeriodRange = Duration(milliseconds: 0)...Duration.hours(1)

    // At most one probe in the schema: a service may take its probe from defaults.service and
    // give only timings itself (kumo checks the merged healthcheck has exactly one).
    public static let fields: Field.Table = Field.Table([
        Field("http", .string(pattern: "^/"), "Probe with an HTTP GET of this path; any 2xx or 3xx is healthy."),
        Field("tcp", .bool(only: true), "Probe by opening a TCP connection to the replica's port (`true`)."),
        Field("exec", .argv, "Probe by running this command in the service's directory; exit 0 is healthy."),
        Field("interval", .duration(intervalRange), default: .duration(defaultInterval), "Time between probes, e.g. `5s`."),
        Field("timeout", .duration(timeoutRange), default: .duration(defaultTimeout), "A probe slower than this fails, e.g. `1s`."),
        Field("retries", .integer(retriesRange), default: .integer(defaultRetries), "Consecutive failures before the replica is unhealthy."),
        Field("startPeriod", .duration(startPeriodRange), default: .duration(defaultStartPeriod), "Failures during this start-up grace period are not counted, e.g. `2s`."),
    ], constraints: [.atMostOne(["http", "tcp", "exec"])])

    static let keys = fields.keys
}
