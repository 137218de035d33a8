import KumoEvents
/// The JSON Schema (draft 2020-12) of Kumo manifests, built from the field tables
/// (``Project/fields`` and the tables it names).
///
/// The schema serves editor completion and a first line of validation; kumo stays the authority.
/// It may be looser than kumo, never stricter (`scripts/check_schema.py` checks that): where a
/// value may hold an interpolation (`${…}`), numbers, booleans and constrained strings also
/// accept a string containing `${`; durations with several units (`1m30s`) are not
/// range-checked. Keys keep table order, so the output is deterministic.
public enum JSONSchema {
    /// The schema as `kumo schema` prints it and `schemas/kumo.schema.json` holds it:
    /// two-space indentation, ending in a newline.
    public static var text: String { document.json() + "\n" }

    public static var document: ConfigValue {
        var builder = Builder()
        return builder.root()
    }
}

extension JSONSchema {
    /// An object's keys in order.
    fileprivate typealias Pairs = [(String, ConfigValue)]

    /// Builds the schema, collecting each shared kind's definition once.
    fileprivate struct Builder {
        /// Shared kinds (``Field/Kind/named(_:_:)``) in the order they were first used.
        var definitions: Pairs = []

        mutating func root() -> ConfigValue {
            var pairs: Pairs = [
                ("$schema", .string("https://json-schema.org/draft/2020-12/schema")),
                ("title", .string("Kumo manifest, version 1")),
                ("description", .string("Functions, services, scaling policies and event rules of one Kumo project (one file, or one of several files of a project directory).")),
            ]
            pairs += object(Project.fields)
            let helpers: Pairs = [
                ("interpolated", .object([
                    ("description", .string("A string with an interpolation (`${var:…}`, `${env:…}`, `${secret:…}`, `${service:….url}`, `${port}`), typed after resolution.")),
                    ("type", .string("string")),
                    ("pattern", .string(Field.Pattern.interpolation)),
                ])),
                ("reference", .object([("description", .string("The name of a resource declared in this project."))] + stringPattern(Field.Pattern.name))),
                ("text", .object([
                    ("description", .string("Text; a plain number or boolean is read as its text, as kumo types scalars by field.")),
                    ("type", .array([.string("string"), .string("number"), .string("boolean")])),
                ])),
                ("scalar", .object([("type", .array([.string("string"), .string("number"), .string("boolean")]))])),
            ]
            pairs.append(("$defs", .object(helpers + definitions + Builder.eventPatternDefinitions)))
            return .object(pairs)
        }

        // MARK: Fields and kinds

        /// A closed object: only the table's keys and `x-` keys.
        mutating func object(_ table: Field.Table) -> Pairs {
            var properties: Pairs = []
            for field in table.fields {
                var conditions = ""
                for case .maximum(let key, let maximum, let other, let values) in table.constraints where key == field.name {
                    conditions += " At most \(ConfigValue.formatDouble(maximum)) when `\(other)` is \(values.map { "`\($0)`" }.joined(separator: " or "))."
                }
                properties.append((field.name, property(field, conditions: conditions)))
            }
            var pairs: Pairs = [
                ("type", .string("object")),
                ("properties", .object(properties)),
                ("patternProperties", Builder.extensionKeys),
                ("additionalProperties", .bool(false)),
            ]
            let required = table.fields.filter(\.required).map { ConfigValue.string($0.name) }
            if !required.isEmpty { pairs.append(("required", .array(required))) }
            var rules: [ConfigValue] = []
            for constraint in table.constraints {
                if case .exactlyOne(let keys) = constraint, !pairs.contains(where: { $0.0 == "oneOf" }) {
                    pairs.append(("oneOf", .array(keys.map { .object([("required", .array([.string($0)]))]) })))
                } else {
                    rules.append(schema(of: constraint))
                }
            }
            // A single `not` reads better than an `allOf` of one.
            if rules.count == 1, case .object(let rule) = rules[0], rule.count == 1, rule[0].0 == "not" {
                pairs.append(rule[0])
            } else if !rules.isEmpty {
                pairs.append(("allOf", .array(rules)))
            }
            return pairs
        }

        /// A field's schema; its description is the doc, the range, `conditions` and the default.
        mutating func property(_ field: Field, conditions: String = "") -> ConfigValue {
            var text = field.doc + Builder.rangeSentence(field.kind) + conditions
            var pairs: Pairs = []
            if let value = field.defaultValue {
                text += " Default: `\(Builder.spelling(value))`."
                pairs.append(("default", Builder.json(value)))
            }
            return .object([("description", .string(text))] + pairs + schema(field.kind))
        }

        mutating func schema(_ kind: Field.Kind) -> Pairs {
            switch kind {
            case .text: return ref("text")
            case .reference: return ref("reference")
            case .scalar: return ref("scalar")
            case .string(let pattern, let examples):
                if let pattern { return stringPattern(pattern) }
                var pairs: Pairs = [("type", .string("string"))]
                if !examples.isEmpty { pairs.append(("examples", .array(examples.map { .string($0) }))) }
                return pairs
            case .constant(let value):
                return interpolatedOr([("const", .int(value))])
            case .integer(let range):
                return interpolatedOr([("type", .string("integer")), ("minimum", .int(range.lowerBound)), ("maximum", .int(range.upperBound))])
            case .number(let bounds):
                return interpolatedOr(Builder.number(bounds))
            case .bool(let only):
                var pairs: Pairs = [("type", .string("boolean"))]
                if let only { pairs.append(("const", .bool(only))) }
                return interpolatedOr(pairs)
            case .duration(let range):
                return [("type", .string("string")), ("anyOf", .array([
                    .object([("pattern", .string(DecimalPattern.duration(range)))]),
                    .object([("pattern", .string(Field.Pattern.interpolation))]),
                ]))]
            case .size(let range):
                return [("anyOf", .array([
                    .object([("type", .string("integer")), ("minimum", .int(range.lowerBound)), ("maximum", .int(range.upperBound))]),
                    .object(stringPattern(Field.Pattern.size)),
                ]))]
            case .choice(let values):
                return interpolatedOr([("type", .string("string")), ("enum", .array(values.map { .string($0) }))])
            case .argv:
                return schema(.named("stringList", .list(.text, minItems: 1)))
            case .environment:
                return schema(.named("environment", .entries(keys: Field.Pattern.environmentName, .scalar, doc: "Value of the variable.")))
            case .eventPattern:
                return ref("eventPattern")
            case .list(let item, let minItems):
                var pairs: Pairs = [("type", .string("array"))]
                if minItems > 0 { pairs.append(("minItems", .int(minItems))) }
                pairs.append(("items", .object(schema(item))))
                return pairs
            case .object(let table):
                return object(table)
            case .entries(let keys, let value, let doc):
                let entry = ConfigValue.object([("description", .string(doc))] + schema(value))
                guard let keys else {
                    return [("type", .string("object")), ("patternProperties", Builder.extensionKeys), ("additionalProperties", entry)]
                }
                guard case .object(var patterns) = Builder.extensionKeys else { preconditionFailure() }
                patterns.append((keys, entry))
                return [("type", .string("object")), ("patternProperties", .object(patterns)), ("additionalProperties", .bool(false))]
            case .anyOf(let kinds):
                var alternatives: [ConfigValue] = []
                for kind in kinds { alternatives.append(.object(schema(kind))) }
                return [("anyOf", .array(alternatives))]
            case .named(let name, let inner):
                if !definitions.contains(where: { $0.0 == name }) {
                    let index = definitions.count
                    definitions.append((name, .null))  // reserved: a kind may refer to itself
                    definitions[index].1 = .object(schema(inner))
                }
                return ref(name)
            }
        }

        mutating func schema(of constraint: Field.Constraint) -> ConfigValue {
            func requires(_ keys: [String]) -> ConfigValue { .object([("required", .array(keys.map { .string($0) }))]) }
            func holds(_ field: String, _ values: [String]) -> ConfigValue {
                let match: Pairs = values.count == 1 ? [("const", .string(values[0]))] : [("enum", .array(values.map { .string($0) }))]
                return .object([("required", .array([.string(field)])), ("properties", .object([(field, .object(match))]))])
            }
            switch constraint {
            case .exactlyOne(let keys):
                return .object([("oneOf", .array(keys.map { requires([$0]) }))])
            case .atLeastOne(let keys):
                return .object([("anyOf", .array(keys.map { requires([$0]) }))])
            case .atMostOne(let keys):
                var pairs: [ConfigValue] = []
                for (i, first) in keys.enumerated() {
                    for second in keys[(i + 1)...] { pairs.append(requires([first, second])) }
                }
                return .object([("not", .object([("anyOf", .array(pairs))]))])
            case .required(let key, let field, let values):
                return .object([("if", holds(field, values)), ("then", requires([key]))])
            case .excluded(let key, let other):
                return .object([("if", requires([other])), ("then", .object([("not", requires([key]))]))])
            case .maximum(let key, let maximum, let field, let values):
                let bounded = interpolatedOr([("type", .string("number")), ("maximum", .double(maximum))])
                return .object([("if", holds(field, values)), ("then", .object([("properties", .object([(key, .object(bounded))]))]))])
            }
        }

        // MARK: Building blocks

        func ref(_ name: String) -> Pairs { [("$ref", .string("#/$defs/\(name)"))] }

        /// `schema`, or a string holding an interpolation.
        func interpolatedOr(_ schema: Pairs) -> Pairs {
            [("anyOf", .array([.object(schema), .object(ref("interpolated"))]))]
        }

        func stringPattern(_ pattern: String) -> Pairs {
            [("type", .string("string")), ("anyOf", .array([
                .object([("pattern", .string(pattern))]),
                .object([("pattern", .string(Field.Pattern.interpolation))]),
            ]))]
        }

        static let extensionKeys = ConfigValue.object([
            (Field.Pattern.extensionKey, .object([("description", .string("Extension key: ignored by Kumo (a place for YAML anchors)."))])),
        ])

        static func number(_ bounds: Field.Bounds) -> Pairs {
            var pairs: Pairs = [("type", .string("number"))]
            if let minimum = bounds.minimum { pairs.append((bounds.exclusiveMinimum ? "exclusiveMinimum" : "minimum", .double(minimum))) }
            if let maximum = bounds.maximum { pairs.append(("maximum", .double(maximum))) }
            return pairs
        }

        /// The range of a kind as a sentence for its description ("" when it has none).
        static func rangeSentence(_ kind: Field.Kind) -> String {
            switch kind {
            case .integer(let range): return " From \(range.lowerBound) to \(range.upperBound)."
            case .duration(let range): return " From \(range.lowerBound) to \(range.upperBound)."
            case .size(let range): return " From \(range.lowerBound) to \(range.upperBound) MB."
            case .number(let bounds):
                var parts: [String] = []
                if let minimum = bounds.minimum {
                    parts.append((bounds.exclusiveMinimum ? "more than " : "at least ") + ConfigValue.formatDouble(minimum))
                }
                if let maximum = bounds.maximum { parts.append("at most " + ConfigValue.formatDouble(maximum)) }
                guard let first = parts.first else { return "" }
                return " " + ([first.prefix(1).uppercased() + first.dropFirst()] + parts.dropFirst()).joined(separator: ", ") + "."
            default: return ""
            }
        }

        static func spelling(_ value: Field.Default) -> String {
            switch value {
            case .integer(let i): return String(i)
            case .number(let d): return ConfigValue.formatDouble(d)
            case .bool(let b): return String(b)
            case .string(let s): return s
            case .duration(let d): return d.description
            }
        }

        static func json(_ value: Field.Default) -> ConfigValue {
            switch value {
            case .integer(let i): return .int(i)
            case .number(let d): return .double(d)
            case .bool(let b): return .bool(b)
            case .string(let s): return .string(s)
            case .duration(let d): return .string(d.description)
            }
        }

        // MARK: Event patterns

        /// EventBridge's pattern syntax, which `Reader+EventPattern.swift` checks in code; the
        /// operators are the reader's.
        static let eventPatternDefinitions: Pairs = {
            func d(_ text: String, _ schema: Pairs) -> ConfigValue { .object([("description", .string(text))] + schema) }
            func closed(_ properties: Pairs, exactlyOne keys: [String]) -> Pairs {
                [
                    ("type", .string("object")), ("properties", .object(properties)),
                    ("patternProperties", extensionKeys), ("additionalProperties", .bool(false)),
                    ("oneOf", .array(keys.map { .object([("required", .array([.string($0)]))]) })),
                ]
            }
            let string: Pairs = [("type", .string("string"))]
            let strings: Pairs = [("type", .string("array")), ("minItems", .int(1)), ("items", .object(string))]
            let stringOrStrings: Pairs = [("anyOf", .array([.object(string), .object(strings)]))]
            let ignoreCase: Pairs = [
                ("type", .string("object")),
                ("properties", .object([("equals-ignore-case", d("Case-insensitive match.", string))])),
                ("patternProperties", extensionKeys), ("additionalProperties", .bool(false)),
                ("required", .array([.string("equals-ignore-case")])),
            ]
            let comparison: ConfigValue = .object([("type", .string("string")), ("enum", .array(["<", "<=", "=", ">", ">="].map { .string($0) }))])
            let number: ConfigValue = .object([("type", .string("number"))])
            let operators: Pairs = [
                ("prefix", d("Matches values starting with this string (or `{ equals-ignore-case: … }`).", [("anyOf", .array([.object(string), .object(ignoreCase)]))])),
                ("suffix", d("Matches values ending with this string (or `{ equals-ignore-case: … }`).", [("anyOf", .array([.object(string), .object(ignoreCase)]))])),
                ("equals-ignore-case", d("Matches a string regardless of case.", string)),
                ("wildcard", d("Matches with `*` wildcards, e.g. `dir/*.png`.", string)),
                ("anything-but", d("Matches anything except the given values (all strings or all numbers), or except a prefix, suffix, equals-ignore-case or wildcard.", [
                    ("anyOf", .array([
                        .object([("type", .array([.string("string"), .string("number")]))]),
                        .object(strings),
                        .object([("type", .string("array")), ("minItems", .int(1)), ("items", number)]),
                        .object(closed([
                            ("prefix", d("Excluded prefix.", stringOrStrings)),
                            ("suffix", d("Excluded suffix.", stringOrStrings)),
                            ("equals-ignore-case", d("Excluded values, compared case-insensitively.", stringOrStrings)),
                            ("wildcard", d("Excluded wildcard patterns.", stringOrStrings)),
                        ], exactlyOne: ["prefix", "suffix", "equals-ignore-case", "wildcard"])),
                    ])),
                ])),
                ("numeric", d("Numeric comparison: `[op, n]` or `[op, n, op, n]` with op one of `<`, `<=`, `=`, `>`, `>=`.", [
                    ("type", .string("array")), ("minItems", .int(2)), ("maxItems", .int(4)),
                    ("anyOf", .array([.object([("maxItems", .int(2))]), .object([("minItems", .int(4))])])),
                    ("prefixItems", .array([comparison, number, comparison, number])),
                ])),
                ("exists", d("`true` matches when the field is present, `false` when it is absent.", [("type", .string("boolean"))])),
                ("cidr", d("Matches IP addresses inside this IPv4 or IPv6 CIDR block, e.g. `10.0.0.0/24`.", [
                    ("type", .string("string")),
                    ("anyOf", .array([
                        .object([("pattern", .string("^[0-9]{1,3}(\\.[0-9]{1,3}){3}(/0*(3[0-2]|[12]?[0-9]))?$"))]),
                        .object([("pattern", .string("^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(/0*(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?$"))]),
                    ])),
                ])),
            ]
            precondition(operators.map(\.0) == Pattern.operators, "every operator the reader knows, in its order")
            return [
                ("eventPattern", .object([
                    ("description", .string("An EventBridge event pattern: field → list of values to match, or → a nested pattern.")),
                    ("type", .string("object")),
                    ("properties", .object([
                        ("$or", d("Matches when any of the listed patterns (at least two) matches.", [("type", .string("array")), ("minItems", .int(2)), ("items", .object([("$ref", .string("#/$defs/eventPattern"))]))])),
                    ])),
                    ("patternProperties", extensionKeys),
                    ("additionalProperties", .object([("anyOf", .array([
                        .object([("$ref", .string("#/$defs/eventPattern"))]),
                        .object([("$ref", .string("#/$defs/patternValues"))]),
                    ]))])),
                ])),
                ("patternValues", .object([
                    ("description", .string("Values to match (any one of them): strings, numbers, booleans, null, or one-operator objects.")),
                    ("type", .string("array")), ("minItems", .int(1)),
                    ("items", .object([("anyOf", .array([
                        .object([("type", .array(["string", "number", "boolean", "null"].map { .string($0) }))]),
                        .object([("$ref", .string("#/$defs/patternOperator"))]),
                    ]))])),
                ])),
                ("patternOperator", .object(closed(operators, exactlyOne: Pattern.operators))),
            ]
        }()
    }

    /// Regular expressions for bounded decimal numbers and durations.
    enum DecimalPattern {
        /// Durations from `range.lowerBound` to `range.upperBound`: single-unit durations are
        /// range-checked, durations with several units (`1m30s`) are accepted as they are.
        static func duration(_ range: ClosedRange<Duration>) -> String {
            let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
            var alternatives: [String] = []
            for (unit, factor) in units {
                let low = (range.lowerBound.milliseconds + factor - 1) / factor
                let high = range.upperBound.milliseconds / factor
                if low <= high { alternatives.append("(?:\(integer(Int(low), Int(high))))\(unit)") }
            }
            alternatives.append("(?:[0-9]+(?:ms|s|m|h)){2,}")
            return "^(?:" + alternatives.joined(separator: "|") + ")$"
        }

        /// Decimal digits (leading zeros allowed) for an integer from `low` to `high`, `low` >= 0.
        static func integer(_ low: Int, _ high: Int) -> String {
            var alternatives: [String] = []
            var low = low
            if low == 0 {
                alternatives.append("0+")
                low = 1
            }
            if low <= high {
                var spans: [String] = []
                var length = String(low).count
                while low <= high {
                    let top = min(high, power(length) - 1)
                    spans.append(sameLength(String(low), String(top)))
                    low = top + 1
                    length += 1
                }
                alternatives.append("0*" + group(spans.joined(separator: "|")))
            }
            return alternatives.joined(separator: "|")
        }

        /// The numbers from `a` to `b`, two decimal strings of the same length.
        static func sameLength(_ a: String, _ b: String) -> String {
            if a == b { return a }
            let a = Array(a), b = Array(b)
            if a.count == 1 { return "[\(a[0])-\(b[0])]" }
            if a[0] == b[0] { return String(a[0]) + group(sameLength(String(a[1...]), String(b[1...]))) }
            let n = a.count - 1
            var parts: [String] = []
            var firstFull = Int(String(a[0]))!
            if String(a[1...]) != String(repeating: "0", count: n) {
                parts.append(String(a[0]) + group(sameLength(String(a[1...]), String(repeating: "9", count: n))))
                firstFull += 1
            }
            var lastFull = Int(String(b[0]))!
            var tail: String?
            if String(b[1...]) != String(repeating: "9", count: n) {
                tail = String(b[0]) + group(sameLength(String(repeating: "0", count: n), String(b[1...])))
                lastFull -= 1
            }
            if firstFull <= lastFull {
                let digit = firstFull == lastFull ? String(firstFull) : "[\(firstFull)-\(lastFull)]"
                parts.append(digit + (n == 1 ? "[0-9]" : "[0-9]{\(n)}"))
            }
            if let tail { parts.append(tail) }
            return parts.joined(separator: "|")
        }

        static func group(_ regex: String) -> String { regex.contains("|") ? "(?:\(regex))" : regex }

        static func power(_ exponent: Int) -> Int { (0..<exponent).reduce(1) { result, _ in result * 10 } }
    }
}
