/// One node of a YAML document, with the source range it came from.
///
/// A node is a view into the flat tree the loader built (see ``Tree``), which it keeps alive:
/// an alias shares its anchor's nodes, so a document full of aliases costs no more memory than
/// its text; the loader bounds how far aliases may expand.
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

    /// Keeps the storage of `ref` (and every tree it points into) alive.
    let owner: Tree
    let ref: NodeRef

    init(_ ref: NodeRef, owner: Tree) {
        self.owner = owner
        self.ref = ref
    }

    private func wrap(_ child: NodeRef) -> Node { Node(child, owner: owner) }

    public var kind: Kind {
        switch ref.kind {
        case .scalar(let s): return .scalar(s.scalar)
        case .mapping(let pairs): return .mapping(pairs.map { Pair(key: wrap($0.key), value: wrap($0.value)) })
        case .sequence(let items): return .sequence(items.map(wrap))
        }
    }

    public var range: SourceRange { ref.range }

    public var scalar: Scalar? { ref.scalar?.scalar }

    public var pairs: [Pair]? {
        if case .mapping(let p) = kind { return p }
        return nil
    }

    public var items: [Node]? {
        if case .sequence(let i) = kind { return i }
        return nil
    }

    /// True for an empty plain scalar, `~` or `null` without a tag: YAML's null.
    public var isNull: Bool { ref.isNull }

    /// The value for a scalar key in a mapping, if any.
    public subscript(key: String) -> Node? {
        ref[key].map(wrap)
    }

    /// A short description of the node's type for "expected …, got …" messages.
    public var typeDescription: String { ref.typeDescription }
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
