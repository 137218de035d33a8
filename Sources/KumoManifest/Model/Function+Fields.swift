/// The keys of a function, its triggers and its invokeConfig: the readers' known keys and ranges
/// and the JSON Schema come from these tables.
extension Function {
    public static let idleTimeoutRange = Duration.seconds(1)...Duration.hours(24)

    public static let fields: Field.Table = Field.Table([
        Field("description", .text, "Free text shown by `kumo plan` and the renderers."),
        Field("runtime", .choice(FunctionRuntime.allCases.map(\.rawValue)),
              "How the function runs: `python3` and `node` load `handler` from `code`; `provided` runs its own bootstrap against the Lambda Runtime API; `exec` runs `command` once per call with the event JSON on stdin and the result on stdout. Every function needs one, here or in defaults.function."),
        Field("handler", .text, "Entry point as `module.function` (python3, node), e.g. `app.handler`."),
        Field("code", .text, "Directory with the function's code, relative to this file and inside the project; its content hash drives updates."),
        Field("command", .argv, "Program and arguments (runtime `exec`, or the bootstrap for `provided`)."),
        Field("image", .text, "Container image serving the function over HTTP on `$PORT` (Knative's contract), used by `kumo render --target kubernetes`; the local runtime and `--target sam` run the handler."),
        Field("memory", .size(memoryRange), default: .integer(defaultMemory), "Memory in MB, or a size string such as `512Mi` or `1Gi`."),
        Field("timeout", .duration(timeoutRange), default: .duration(defaultTimeout), "Maximum run time of one invocation, e.g. `30s`."),
        Field("environment", .environment, "Environment variables of the function's process."),
        Field("concurrency", .integer(concurrencyRange), default: .integer(defaultConcurrency), "Hard cap of concurrent invocations (reserved concurrency)."),
        Field("minInstances", .integer(minInstancesRange), default: .integer(defaultMinInstances), "Warm workers always kept (provisioned concurrency); 0 scales to zero."),
        Field("idleTimeout", .duration(idleTimeoutRange), default: .duration(defaultIdleTimeout), "An idle worker is stopped after this long, e.g. `60s`."),
        Field("events", .list(.named("functionEvent", .object(FunctionEvent.fields))),
              "Triggers of the function: each item is exactly one `http` or `schedule` trigger."),
        Field("invokeConfig", .object(InvokeConfig.fields), "Asynchronous invocation settings (retries and what happens to failed events)."),
    ], constraints: [
        .required("command", when: "runtime", in: [FunctionRuntime.exec.rawValue]),
        .required("handler", when: "runtime", in: [FunctionRuntime.python3.rawValue, FunctionRuntime.node.rawValue]),
    ])

    /// The keys of a function mapping (and of `defaults.function`).
    static let keys = fields.keys
}

extension FunctionEvent {
    /// A schedule as the schema checks it, looser than kumo's parser: the value and unit of a
    /// rate, the field count of a cron.
    static let schedulePattern = "^(?:rate\\(\\s*(?:0*1\\s+(?:minute|hour|day)|0*(?:[2-9]|[1-9][0-9]+)\\s+(?:minutes?|hours?|days?))\\s*\\)|cron\\(\\s*\\S+(?:\\s+\\S+){5}\\s*\\))$"

    public static let fields: Field.Table = Field.Table([
        Field("http", .object(httpFields), "HTTP trigger served by the local gateway (API Gateway HTTP API v2 events)."),
        Field("schedule", .string(pattern: schedulePattern),
              "Schedule in AWS syntax: `rate(1 hour)`, `rate(5 minutes)` (minute, hour or day; singular for 1) or `cron(0 12 * * ? *)` (six fields: minutes hours day-of-month month day-of-week year)."),
    ], constraints: [.exactlyOne(["http", "schedule"])])

    public static let httpFields: Field.Table = [
        Field("method", .choice(Function.httpMethods), required: true, "HTTP method, or `ANY`."),
        Field("path", .string(pattern: "^/"), required: true, "Route path starting with `/`; `{name}` segments become path parameters (quote it in flow style)."),
    ]

    static let keys = fields.keys
    static let httpKeys = httpFields.keys
}

extension InvokeConfig {
    public static let retryAttemptsRange = 0...2
    public static let eventAgeRange = Duration.seconds(60)...Duration.hours(6)

    public static let fields: Field.Table = [
        Field("maximumRetryAttempts", .integer(retryAttemptsRange), default: .integer(defaultRetryAttempts), "Retries of a failed asynchronous invocation."),
        Field("maximumEventAge", .duration(eventAgeRange), default: .duration(defaultEventAge), "Events older than this are not retried, e.g. `1h`."),
        Field("onFailure", .choice(OnFailure.allCases.map(\.rawValue)), default: .string(defaultOnFailure.rawValue),
              "`dlq` keeps events that failed every attempt in the dead-letter queue; `discard` drops them."),
    ]

    static let keys = fields.keys
}
