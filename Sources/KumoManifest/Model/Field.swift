/// One key of a manifest mapping, described once: its name, kind (type and range), default,
/// whether it is required, and a one-line doc.
///
/// Each mapping of the format has a table of fields next to its model (`Function.fields` in
/// `Function+Fields.swift`, …). The tables are the single statement of the format: the readers
/// take their known keys (and so the "did you mean" suggestions) and their ranges from them,
/// and ``JSONSchema`` builds the schema from them. Ranges and defaults name the model's
/// constants (`Function.memoryRange`, `Function.defaultMemory`) instead of restating numbers.
/// Tables are immutable values, safe to share between threads.
public struct Field: Sendable {
    public var name: String
    public var kind: Kind
    /// One sentence for editors; the range and the default are appended where the schema is built.
    public var doc: String
    /// The key must be written in the mapping itself (kumo reports it missing; the schema requires it).
    public var required: Bool
    /// The value kumo uses when the key is absent, for documentation.
    public var defaultValue: Default?

    public init(_ name: String, _ kind: Kind, default defaultValue: Default? = nil, required: Bool = false, _ doc: String) {
        self.name = name
        self.kind = kind
        self.doc = doc
        self.required = required
        self.defaultValue = defaultValue
    }

    /// What a field holds. Strings, numbers and booleans may also be written as an interpolation
    /// (`${var:…}`), which takes the field's type once resolved.
    public indirect enum Kind: Sendable {
        /// Free text; a plain number or boolean is read as its text.
        case text
        /// A string kumo checks in code; `pattern` (an ECMA-262 regular expression) is the
        /// schema's looser form of that check. `examples` are offered for completion.
        case string(pattern: String? = nil, examples: [String] = [])
        /// The name of a resource declared in the project.
        case reference
        /// A string, number or boolean, kept as text (variables, environment values).
        case scalar
        /// This integer, and nothing else.
        case constant(Int)
        case integer(ClosedRange<Int>)
        case number(Bounds)
        /// `true` or `false`; with `only`, that value alone.
        case bool(only: Bool? = nil)
        /// A duration with units (`250ms`, `10s`, `5m`, `1h`, `1h30m`).
        case duration(ClosedRange<Duration>)
        /// A size in MB: an integer, or a string with a unit (`512Mi`, `1Gi`).
        case size(ClosedRange<Int>)
        /// One of these strings.
        case choice([String])
        /// A non-empty argv list of text.
        case argv
        /// Environment variables: names (`[A-Za-z_][A-Za-z0-9_]*`) to scalars.
        case environment
        /// An Amazon EventBridge event pattern (checked by `Reader+EventPattern.swift`).
        case eventPattern
        case list(Kind, minItems: Int = 0)
        /// A mapping with the keys of a table.
        case object(Table)
        /// A mapping of names the user chooses (matching `keys`, any name when nil) to values;
        /// `x-` keys are ignored. `doc` describes one value.
        case entries(keys: String?, Kind, doc: String)
        /// Any of these kinds.
        case anyOf([Kind])
        /// A kind shared by several fields: the schema defines it once, under `name`.
        case named(String, Kind)
    }

    /// Bounds of a number field.
    public struct Bounds: Sendable, Equatable {
        public var minimum: Double?
        /// The minimum itself is excluded.
        public var exclusiveMinimum: Bool
        public var maximum: Double?

        public init(minimum: Double? = nil, exclusiveMinimum: Bool = false, maximum: Double? = nil) {
            self.minimum = minimum
            self.exclusiveMinimum = exclusiveMinimum
            self.maximum = maximum
        }

        /// More than `minimum`, at most `maximum`.
        public static func above(_ minimum: Double, atMost maximum: Double? = nil) -> Bounds {
            Bounds(minimum: minimum, exclusiveMinimum: true, maximum: maximum)
        }

        /// At least `minimum`.
        public static func atLeast(_ minimum: Double) -> Bounds { Bounds(minimum: minimum) }

        /// These bounds with `maximum` as the upper bound.
        public func atMost(_ maximum: Double) -> Bounds {
            Bounds(minimum: minimum, exclusiveMinimum: exclusiveMinimum, maximum: maximum)
        }
    }

    /// A field's default, as the manifest would spell it.
    public enum Default: Sendable, Equatable {
        case integer(Int)
        case number(Double)
        case bool(Bool)
        case string(String)
        case duration(Duration)
    }

    /// A rule between the keys of one mapping.
    public enum Constraint: Sendable {
        /// Exactly one of these keys.
        case exactlyOne([String])
        /// At most one of these keys.
        case atMostOne([String])
        /// At least one of these keys.
        case atLeastOne([String])
        /// `key` is required when `field` holds one of `values`.
        case required(String, when: String, in: [String])
        /// `key` is not allowed when `other` is present.
        case excluded(String, by: String)
        /// The number `key` is at most `maximum` when `field` holds one of `values`.
        case maximum(String, Double, when: String, in: [String])
    }

    /// The fields of one mapping and the rules between them.
    public struct Table: Sendable, ExpressibleByArrayLiteral {
        public var fields: [Field]
        public var constraints: [Constraint]
        /// The fields' names in table order: the reader's known keys.
        public let keys: [String]

        public init(_ fields: [Field], constraints: [Constraint] = []) {
            self.fields = fields
            self.constraints = constraints
            self.keys = fields.map(\.name)
        }

        public init(arrayLiteral fields: Field...) { self.init(fields) }

        /// The table as `defaults.function` and `defaults.service` use it: every key optional
        /// and no rule between keys (each resource completes its defaults).
        public var partial: Table {
            Table(fields.map { field in
                var field = field
                field.required = false
                return field
            })
        }

        public subscript(name: String) -> Field? { fields.first { $0.name == name } }
    }
}

extension Field {
    /// Regular expressions (ECMA-262) the schema checks strings with; kumo checks them in code.
    public enum Pattern {
        /// A resource name: a letter, then up to 63 letters, digits, `_` or `-`.
        public static let name = "^[A-Za-z][A-Za-z0-9_-]{0,63}$"
        /// A resource name as a mapping key: never `x-…` (extension keys, which kumo ignores).
        public static let nameKey = "^(?!x-)[A-Za-z][A-Za-z0-9_-]{0,63}$"
        public static let environmentName = "^[A-Za-z_][A-Za-z0-9_]*$"
        /// A string holding an interpolation: it may stand for any type.
        public static let interpolation = "\\$\\{"
        public static let duration = "^([0-9]+(ms|s|m|h))+$"
        public static let size = "^[0-9]+(\\.[0-9]+)?(Mi|Gi|M|G|MB|GB)$"
        /// Keys that are ignored everywhere (a place for YAML anchors).
        public static let extensionKey = "^x-"
    }
}
