/// Reads a resource's canonical spec (the manifest form that the state, saved plans and the
/// control API carry) back into its typed form, through the same reader that validates
/// manifests: every field is read, checked and defaulted in one place.
///
/// A canonical spec is already resolved: `code` is relative to the project directory and not
/// checked on disk, and the only references left in its strings are `${secret:…}` and
/// `${port}` (`$${` stays a literal `${`).
extension ResourceSpec {
    /// Why a stored spec could not be read: each problem with the key path it concerns.
    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public var address: String
        public var problems: [String]

        public var description: String {
            "the stored spec of \(address) is not valid: " + problems.joined(separator: "; ")
        }
    }

    public init(kind: ResourceKind, name: String, canonical: ConfigValue) throws(DecodingError) {
        let address = "\(kind.rawValue).\(name)"
        var files = SourceFiles()
        let file = files.add(path: address, bytes: [])
        let tree = Tree()
        let root = SpecDecoder.node(canonical, in: tree, file: file)
        var context = InterpolationContext()
        context.stage = .stored
        var reader = Reader(sink: DiagnosticSink(files: files), context: context)
        var codeChecker = CodeChecker(storedSpecs: files)
        let path = KeyPath(kind.rawValue, name)
        var spec: ResourceSpec?
        switch kind {
        case .function:
            var routes: [HTTPRoute] = []
            spec = reader.function(name, root, path, routes: &routes, codeChecker: &codeChecker).map(ResourceSpec.function)
        case .service:
            spec = reader.service(name, root, path, codeChecker: &codeChecker).map { .service($0.0) }
        case .scaling:
            spec = reader.scalingPolicy(name, root, path)?.policy.map(ResourceSpec.scaling)
        case .rule:
            spec = reader.rule(name, root, path).map { .rule($0.0) }
        }
        let errors = reader.sink.diagnostics.filter { $0.severity == .error }
        guard let spec, errors.isEmpty else {
            let problems = errors.map { d in (d.keyPath.map { $0 + ": " } ?? "") + d.message }
            throw DecodingError(address: address, problems: problems.isEmpty ? ["it is incomplete"] : problems)
        }
        withExtendedLifetime(tree) {}
        self = spec
    }
}

enum SpecDecoder {
    /// Builds the node tree the reader reads from a JSON-like value: strings are quoted
    /// scalars (read as text whatever they hold), numbers, booleans and null plain ones.
    static func node(_ value: ConfigValue, in tree: Tree, file: SourceFileID) -> NodeRef {
        let range = SourceRange(file: file, start: Mark(line: 0, column: 0), end: Mark(line: 0, column: 0))
        func scalar(_ text: String, _ style: Scalar.Style) -> NodeRef {
            var text = text
            return text.withUTF8 { tree.appendScalar(UnsafeRawBufferPointer($0), style: style, tag: nil, range: range) }
        }
        switch value {
        case .null: return scalar("null", .plain)
        case .bool(let b): return scalar(b ? "true" : "false", .plain)
        case .int(let i): return scalar(String(i), .plain)
        case .double(let d): return scalar(ConfigValue.formatDouble(d), .plain)
        case .string(let s): return scalar(s, .doubleQuoted)
        case .array(let items):
            let children = items.map { node($0, in: tree, file: file) }
            return tree.appendSequence(children, range: range)
        case .object(let pairs):
            var children: [NodeRef] = []
            children.reserveCapacity(pairs.count * 2)
            for (key, value) in pairs {
                children.append(scalar(key, .doubleQuoted))
                children.append(node(value, in: tree, file: file))
            }
            return tree.appendMapping(children, range: range)
        }
    }
}
