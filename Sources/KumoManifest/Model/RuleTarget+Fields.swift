import KumoEvents

/// The keys of a rule target and its inputTransformer: the reader's known keys and the JSON
/// Schema come from these tables.
extension RuleTarget {
    public static let fields: Field.Table = Field.Table([
        Field("function", .reference, "Name of the function invoked with the (transformed) event."),
        Field("service", .reference, "Name of the service that receives the event as an HTTP POST."),
        Field("path", .string(pattern: "^/"), "Path of the POST, starting with `/` (service targets only)."),
        Field("inputTransformer", .object(InputTransformer.fields), "Builds the delivered input from parts of the event."),
        Field("input", .text, "Constant JSON text delivered instead of the event (not with `inputPath` or `inputTransformer`)."),
        Field("inputPath", .string(pattern: "^\\$"), "JSONPath of the part of the event to deliver, e.g. `$.detail`."),
    ], constraints: [
        .exactlyOne(["function", "service"]),
        .atMostOne(["input", "inputPath", "inputTransformer"]),
        .excluded("path", by: "function"),
    ])

    static let keys = fields.keys
}

extension RuleTarget.InputTransformer {
    public static let fields: Field.Table = [
        Field("inputPathsMap", .entries(keys: nil, .string(pattern: "^\\$"), doc: "JSONPath into the event, e.g. `$.detail.id`."),
              "Placeholder name → JSONPath into the event (starting with `$`)."),
        Field("inputTemplate", .text, required: true, "Template of the delivered input; `<name>` is replaced by the mapped value."),
    ]

    static let keys = fields.keys
}

extension RuleTarget {
    /// What the target receives, in the event language's terms: `input`, `inputPath`, the
    /// `inputTransformer`, or (none given) the event.
    public var transform: InputTransform {
        if let input { return .constant(input) }
        if let inputPath { return .path(inputPath) }
        if let inputTransformer { return .template(pathsMap: inputTransformer.inputPathsMap, template: inputTransformer.inputTemplate) }
        return .event
    }
}
