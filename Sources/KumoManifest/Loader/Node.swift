/// One node of a YAML document, with the source range it came from.
///
/// Nodes are values: an alias shares its anchor's storage (copy on write), so a document full of
/// aliases costs no more memory than its text; the loader bounds how far aliases may expand.
public struct Node: Sendable {
    public enum Kind: Sendable {
        case scalar(Scalar)
        case mapping([Pair])
        case sequence([Node])
    }

    /// A key-value entry of a mapping; mappings keep their keys in source order.
    public struct Pair: Sendable {
        public var key: Node
        public var value: Node
        public init(key: Node, value: Node) {
            self.key = key
            self.value = value
        }
    }

    public var kind: Kind
    public var range: SourceRange

    public init(_ kind: Kind, range: SourceRange) {
        self.kind = kind
        self.range = range
    }

    public var scalar: Scalar? {
        if case .scalar(let s) = kind { return s }
        return nil
    }

    public var pairs: [Pair]? {
        if case .mapping(let p) = kind { return p }
        return nil
    }

    public var items: [Node]? {
        if case .sequence(let i) = kind { return i }
        return nil
    }

    /// True for an empty plain scalar, `~` or `null` without a tag: YAML's null.
    public var isNull: Bool {
        guard case .scalar(let s) = kind else { return false }
        return s.isNull
    }

    /// The value for a scalar key in a mapping, if any.
    public subscript(key: String) -> Node? {
        guard case .mapping(let pairs) = kind else { return nil }
        for pair in pairs where pair.key.scalar?.text == key { return pair.value }
        return nil
    }

    /// A short description of the node's type for "expected …, got …" messages.
    public var typeDescription: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s):
            if s.isNull { return "null" }
            if s.style != .plain { return "the string \"\(s.text.truncatedForMessage)\"" }
            return "'\(s.text.truncatedForMessage)'"
        }
    }
}

/// A scalar keeps its exact text, style and tag; its type is decided by the field that reads it.
public struct Scalar: Sendable, Equatable {
    public enum Style: UInt8, Sendable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// The YAML core tags a scalar may carry; the loader refuses any other tag.
    public enum Tag: UInt8, Sendable {
        case str, int, float, bool, null, merge

        init?(uri: String) {
            switch uri {
            case "tag:yaml.org,2002:str": self = .str
            case "tag:yaml.org,2002:int": self = .int
            case "tag:yaml.org,2002:float": self = .float
            case "tag:yaml.org,2002:bool": self = .bool
            case "tag:yaml.org,2002:null": self = .null
            case "tag:yaml.org,2002:merge": self = .merge
            default: return nil
            }
        }
    }

    public var text: String
    public var style: Style
    /// The tag written on the scalar (`!!str`), nil when none was.
    public var tag: Tag?

    public init(text: String, style: Style = .plain, tag: Tag? = nil) {
        self.text = text
        self.style = style
        self.tag = tag
    }

    public var isNull: Bool {
        if let tag { return tag == .null }
        guard style == .plain else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }
}

extension String {
    /// The string cut to a length fit for an error message.
    var truncatedForMessage: String {
        count > 40 ? String(prefix(37)) + "…" : self
    }
}
