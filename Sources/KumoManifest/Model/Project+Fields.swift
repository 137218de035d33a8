/// The top-level keys of a manifest and of `defaults`: the validator's known keys and the JSON
/// Schema come from these tables.
extension Project {
    public static let fields: Field.Table = [
        Field("version", .constant(1), required: true, "Manifest format version; always `1`."),
        Field("project", .string(pattern: "^[A-Za-z][A-Za-z0-9_-]*$"), required: true,
              "Project name: a letter, then letters, digits, `-` or `_`; every file of a project directory repeats it."),
        Field("variables", .entries(keys: nil, .entries(keys: nil, .scalar, doc: "Value of the variable."), doc: "Variables of this stage: name → value."),
              "Stage → variables for `${var:NAME}`; `default` applies to every stage, `--stage` and `--var k=v` override."),
        Field("defaults", .object(defaultsFields), "Fields applied to every function or service: scalars override, maps deep-merge, lists replace."),
        Field("functions", resources("Function", .named("function", .object(Function.fields))), "Functions by name (address `function.NAME`)."),
        Field("services", resources("Service", .named("service", .object(Service.fields))), "Long-running services by name (address `service.NAME`)."),
        Field("scaling", resources("Scaling policy", .named("scaling", .object(ScalingPolicy.fields))), "Scaling policies by name (address `scaling.NAME`)."),
        Field("rules", resources("Rule", .named("rule", .object(Rule.fields))), "Event rules by name (address `rule.NAME`)."),
        Field("estimates", .object(Estimates.fields), "Rollout time coefficients; `kumo calibrate` fits them from recorded applies."),
        Field("pricing", .object(Pricing.fields), "Prices for cost estimates; defaults are public list prices."),
        Field("usage", .entries(keys: "^function\\.[A-Za-z][A-Za-z0-9_-]*$", .object(Usage.fields), doc: "Usage of this function."),
              "Expected monthly usage per function for cost estimates."),
    ]

    public static let defaultsFields: Field.Table = [
        Field("function", .named("functionDefaults", .object(Function.fields.partial)), "Defaults for every function."),
        Field("service", .named("serviceDefaults", .object(Service.fields.partial)), "Defaults for every service."),
    ]

    /// A section of resources by name.
    private static func resources(_ kind: String, _ value: Field.Kind) -> Field.Kind {
        .entries(keys: Field.Pattern.nameKey, value, doc: "\(kind) (name: a letter, then up to 63 letters, digits, `_` or `-`).")
    }

    /// The top-level keys of a manifest document.
    static let keys = fields.keys
    static let defaultsKeys = defaultsFields.keys
}
