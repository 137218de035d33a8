/// The keys of a rule and its retryPolicy: the reader's known keys and ranges and the JSON
/// Schema come from these tables.
extension Rule {
    public static let fields: Field.Table = Field.Table([
        Field("description", .text, "Free text shown by `kumo plan` and the renderers."),
        Field("enabled", .bool(), default: .bool(defaultEnabled), "A disabled rule is kept but matches nothing and never fires."),
        Field("pattern", .eventPattern, "Amazon EventBridge event pattern the event must match."),
        Field("schedule", .string(pattern: "^(rate|cron)\\(", examples: ["rate(5 minutes)", "cron(0 12 * * ? *)"]),
              "Fires the rule on the clock (UTC): `rate(N unit)` or `cron(min hour day-of-month month day-of-week year)`."),
        Field("targets", .list(.named("ruleTarget", .object(RuleTarget.fields)), minItems: 1), required: true,
              "Where matching events are delivered (at least one)."),
        Field("retryPolicy", .object(RetryPolicy.fields), "Retries of failed deliveries."),
        Field("deadLetter", .bool(), default: .bool(defaultDeadLetter), "Keep events whose delivery failed every retry in the dead-letter queue."),
    ], constraints: [
        .atLeastOne(["pattern", "schedule"]),
    ])

    static let keys = fields.keys
}

extension Rule.RetryPolicy {
    public static let retryAttemptsRange = 0...185
    public static let eventAgeRange = Duration.seconds(60)...Duration.hours(24)

    public static let fields: Field.Table = [
        Field("maximumRetryAttempts", .integer(retryAttemptsRange), default: .integer(Rule.RetryPolicy.default.maximumRetryAttempts),
              "Retries of a failed delivery."),
        Field("maximumEventAge", .duration(eventAgeRange), default: .duration(Rule.RetryPolicy.default.maximumEventAge),
              "Events older than this are no longer retried, e.g. `1h`."),
    ]

    static let keys = fields.keys
}
