/// An EventBridge event pattern, checked and compiled once: every operator of the language
/// (exact values, `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but`,
/// `numeric`, `exists`, `cidr`, `$or`).
public struct Pattern: Sendable, Equatable {
    /// The pattern as written.
    public let source: JSON
    /// The checked form every evaluation walks.
    let root: PatternNode

    /// The operators of a matcher object, in the order documentation lists them.
    public static let operators = PatternCompiler.operators

    /// Checks a pattern; the error names the key path of the first offending part.
    public init(json: JSON) throws(PatternError) {
        self.root = try PatternCompiler.compile(json)
        self.source = json
    }

    /// Every problem of a pattern, in pattern order (empty when it is valid); ``init(json:)``
    /// throws the first.
    public static func problems(in json: JSON) -> [PatternError] {
        var problems: [PatternError] = []
        _ = PatternCompiler.compile(json, problems: &problems)
        return problems
    }

    /// Parses JSON text, then checks it; JSON syntax errors come back with an empty path.
    public init(text: String) throws(PatternError) {
        let json: JSON
        do { json = try JSON.parse(text) } catch { throw PatternError(path: [], message: error.description) }
        try self.init(json: json)
    }

    public static func == (lhs: Pattern, rhs: Pattern) -> Bool { lhs.source == rhs.source }

    /// Whether the event (any JSON object) matches.
    public func matches(_ event: JSON) -> Bool {
        root.matches(event)
    }

    /// Why the event does not match (nil when it matches): the first field, in pattern order,
    /// whose condition failed. Where the event has a list of objects, or the pattern an `$or`, the
    /// element or alternative that satisfied the most fields before failing is reported (the first
    /// of equals); list elements appear in the path as `[i]`.
    public func explain(_ event: JSON) -> Mismatch? {
        root.explain(event, at: [])?.mismatch
    }
}

/// A key path inside a pattern or an event.
public enum PathComponent: Sendable, Equatable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var description: String {
        switch self {
        case .key(let k): k
        case .index(let i): "[\(i)]"
        }
    }
}

public struct PatternError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where in the pattern: keys and list indices from its root.
    public var path: [PathComponent]
    public var message: String
    /// The operator name when the problem is an unknown operator (for "did you mean" hints).
    public var unknownOperator: String?
    /// The operators allowed where ``unknownOperator`` was written.
    public var knownOperators: [String] = []

    public init(path: [PathComponent], message: String) {
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? message : "\(PathComponent.dotted(path)): \(message)"
    }
}

extension PathComponent {
    /// `detail.items[0].id`
    public static func dotted(_ path: [PathComponent]) -> String {
        var text = ""
        for component in path {
            switch component {
            case .key(let k): text += text.isEmpty ? k : "." + k
            case .index(let i): text += "[\(i)]"
            }
        }
        return text
    }
}

/// The first condition of a pattern an event failed.
public struct Mismatch: Sendable, Equatable, CustomStringConvertible {
    /// The field's key path in the event, dotted (`detail.total`).
    public var path: String
    /// The pattern's condition for it, as JSON text (`[{"numeric":[">",100]}]`).
    public var expected: String
    /// The event's value there as JSON text, or nil when the field is missing.
    public var actual: String?

    public init(path: String, expected: String, actual: String?) {
        self.path = path
        self.expected = expected
        self.actual = actual
    }

    public var description: String {
        "\(path): the pattern wants \(expected), the event has \(actual ?? "no such field")"
    }
}
