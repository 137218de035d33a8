/// One problem found in a project: severity, stable ID, message, where, and the key path.
///
/// Diagnostics are values and carry their file path, so they outlive the loaded sources.
public struct Diagnostic: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Codable, Comparable {
        case error, warning

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            lhs == .error && rhs == .warning
        }
    }

    public var severity: Severity
    /// A stable identifier (`unknown-key`, `duplicate-name`, …) that tools can match on.
    public var id: String
    public var message: String
    /// The file path, or nil for a problem that is not in any file (a `--var` or `--stage` value).
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var endLine: Int?
    public var endColumn: Int?
    /// Where in the project the problem is: `functions.createOrder.memory`.
    public var keyPath: String?

    public init(
        severity: Severity, id: String, message: String, file: String?, line: Int?, column: Int?,
        endLine: Int? = nil, endColumn: Int? = nil, keyPath: String? = nil
    ) {
        self.severity = severity
        self.id = id
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.endLine = endLine
        self.endColumn = endColumn
        self.keyPath = keyPath
    }
}

extension Diagnostic {
    /// Orders diagnostics by file, position, then message, so output is stable.
    public static func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.sorted { a, b in
            let ka = (a.file ?? "", a.line ?? 0, a.column ?? 0, a.severity.rawValue, a.message)
            let kb = (b.file ?? "", b.line ?? 0, b.column ?? 0, b.severity.rawValue, b.message)
            return ka < kb
        }
    }
}

/// Collects diagnostics while loading and validating; converts source ranges into paths.
public struct DiagnosticSink: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []
    private var seen: Set<Diagnostic> = []
    public var files: SourceFiles

    public init(files: SourceFiles) {
        self.files = files
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public mutating func error(_ id: String, _ message: String, at range: SourceRange?, path: KeyPath? = nil) {
        emit(.error, id, message, at: range, path: path)
    }

    public mutating func warning(_ id: String, _ message: String, at range: SourceRange?, path: KeyPath? = nil) {
        emit(.warning, id, message, at: range, path: path)
    }

    public mutating func emit(
        _ severity: Diagnostic.Severity, _ id: String, _ message: String, at range: SourceRange?,
        path: KeyPath?
    ) {
        var diagnostic = Diagnostic(
            severity: severity, id: id, message: message, file: nil, line: nil, column: nil,
            keyPath: path?.description)
        if let range, range.file != .synthetic {
            diagnostic.file = files.path(range.file)
            diagnostic.line = Int(range.start.line)
            diagnostic.column = Int(range.start.column)
            diagnostic.endLine = Int(range.end.line)
            diagnostic.endColumn = Int(range.end.column)
        }
        // Values merged from `defaults` are decoded once per resource; report each problem once.
        if seen.insert(diagnostic).inserted {
            diagnostics.append(diagnostic)
        }
    }

    public mutating func append(contentsOf other: [Diagnostic]) {
        for diagnostic in other where seen.insert(diagnostic).inserted {
            diagnostics.append(diagnostic)
        }
    }
}

/// A path of keys and indices into the project: `functions.createOrder.events[0].http`.
///
/// Paths are built for every field read, so they are cheap to extend: the last component is
/// stored inline and earlier appended ones in a shared linked list; nothing is copied.
public struct KeyPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    private final class Link: Sendable {
        let parent: Link?
        let component: Component
        init(parent: Link?, component: Component) {
            self.parent = parent
            self.component = component
        }
    }

    private var prefix: [Component]
    private var links: Link?
    private var tail: Component?

    public var components: [Component] {
        var appended: [Component] = []
        var link = links
        while let current = link {
            appended.append(current.component)
            link = current.parent
        }
        return prefix + appended.reversed() + (tail.map { [$0] } ?? [])
    }

    public init(_ components: [Component] = []) {
        self.prefix = components
    }

    public init(_ keys: String...) {
        self.prefix = keys.map { .key($0) }
    }

    private func appending(_ component: Component) -> KeyPath {
        var result = self
        if let tail { result.links = Link(parent: links, component: tail) }
        result.tail = component
        return result
    }

    public func appending(_ key: String) -> KeyPath { appending(.key(key)) }

    public func appending(index: Int) -> KeyPath { appending(.index(index)) }

    public static func == (lhs: KeyPath, rhs: KeyPath) -> Bool { lhs.components == rhs.components }

    public func hash(into hasher: inout Hasher) { hasher.combine(components) }

    public static func / (lhs: KeyPath, rhs: String) -> KeyPath { lhs.appending(rhs) }
    public static func / (lhs: KeyPath, rhs: Int) -> KeyPath { lhs.appending(index: rhs) }

    public var description: String {
        var result = ""
        for component in components {
            switch component {
            case .key(let key):
                let plain = !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
                if plain {
                    if !result.isEmpty { result += "." }
                    result += key
                } else {
                    result += "[\"\(key)\"]"
                }
            case .index(let index):
                result += "[\(index)]"
            }
        }
        return result
    }
}
