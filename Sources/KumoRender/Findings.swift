import KumoManifest

/// What a renderer could not express, or refuses: collected while rendering, turned into
/// diagnostics with file positions at the end (positions are looked up only when there is
/// something to report).
struct Findings {
    struct Finding {
        var severity: Diagnostic.Severity
        var id: String
        var message: String
        /// The field the finding is about: `services.api.resources`.
        var path: KeyPath
        /// Where else the field may be written (`defaults.function.idleTimeout`).
        var alternates: [KeyPath]
        /// The resource's own range, when the field is not written anywhere.
        var fallback: SourceRange
    }

    private(set) var items: [Finding] = []

    var hasErrors: Bool { items.contains { $0.severity == .error } }

    mutating func warning(_ id: String, _ message: String, at path: KeyPath, alternates: [KeyPath] = [], in range: SourceRange) {
        items.append(Finding(severity: .warning, id: id, message: message, path: path, alternates: alternates, fallback: range))
    }

    /// Appends another collector's findings after these.
    mutating func append(_ other: Findings) {
        items += other.items
    }

    mutating func error(_ id: String, _ message: String, at path: KeyPath, alternates: [KeyPath] = [], in range: SourceRange) {
        items.append(Finding(severity: .error, id: id, message: message, path: path, alternates: alternates, fallback: range))
    }

    /// The findings as diagnostics at the deepest written position of their field.
    func diagnostics(sources: RenderSources, strict: Bool) -> [Diagnostic] {
        guard !items.isEmpty else { return [] }
        let locator = SourceLocator(documents: sources.documents)
        var sink = DiagnosticSink(files: sources.files)
        for item in items {
            // An empty path is the whole project: no field to point at.
            let whole = item.path.components.isEmpty
            let range = whole ? item.fallback : ([item.path] + item.alternates).lazy.compactMap { locator.range(of: $0) }.first ?? item.fallback
            sink.emit(strict ? .error : item.severity, item.id, item.message, at: range, path: whole ? nil : item.path)
        }
        return Diagnostic.sorted(sink.diagnostics)
    }
}

/// Finds the node a key path names in the parsed documents of a project.
///
/// The resource sections (`functions`, `services`, …) are indexed by name on first use, so a
/// project with many findings is searched in linear time.
final class SourceLocator {
    private let documents: [Node]
    private var sections: [String: [String: Node]] = [:]

    init(documents: [Node]) {
        self.documents = documents
    }

    /// The range of the value at `path`, or nil when no document writes it.
    func range(of path: KeyPath) -> SourceRange? {
        let components = path.components
        guard components.count >= 2, case .key(let section) = components[0], case .key(let name) = components[1] else {
            return walk(components, from: documents)
        }
        guard var node = resource(section, name) else { return walk(components, from: documents) }
        for component in components.dropFirst(2) {
            guard let next = child(of: node, component) else { return nil }
            node = next
        }
        return node.range
    }

    private func walk(_ components: [KeyPath.Component], from roots: [Node]) -> SourceRange? {
        roots: for root in roots {
            var node = root
            for component in components {
                guard let next = child(of: node, component) else { continue roots }
                node = next
            }
            return node.range
        }
        return nil
    }

    private func child(of node: Node, _ component: KeyPath.Component) -> Node? {
        switch component {
        case .key(let key): return node[key]
        case .index(let index):
            guard let items = node.items, items.indices.contains(index) else { return nil }
            return items[index]
        }
    }

    private func resource(_ section: String, _ name: String) -> Node? {
        if sections[section] == nil {
            var index: [String: Node] = [:]
            for document in documents {
                for pair in document[section]?.pairs ?? [] {
                    if let key = pair.key.scalar?.text, index[key] == nil { index[key] = pair.value }
                }
            }
            sections[section] = index
        }
        return sections[section]?[name]
    }
}
