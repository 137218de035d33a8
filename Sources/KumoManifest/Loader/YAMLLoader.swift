internal import CYAML

/// Limits that keep hostile input from hanging the loader or exhausting memory.
public struct LoadLimits: Sendable {
    /// Files larger than this are refused before parsing.
    public var maxFileSize: Int
    /// Deepest nesting of mappings and lists.
    public var maxDepth: Int
    /// Nodes that aliases may add, beyond this floor or the document's own node count (whichever
    /// is larger): an alias bomb hits this in microseconds instead of expanding a billion nodes.
    public var aliasExpansionFloor: Int
    /// Files at least this large are parsed on two cores (see ``ParallelLoad``).
    public var parallelThreshold: Int

    public init(maxFileSize: Int = 64 << 20, maxDepth: Int = 128, aliasExpansionFloor: Int = 1_000_000, parallelThreshold: Int = 1 << 20) {
        self.maxFileSize = maxFileSize
        self.maxDepth = maxDepth
        self.aliasExpansionFloor = aliasExpansionFloor
        self.parallelThreshold = parallelThreshold
    }

    public static let `default` = LoadLimits()
}

/// Turns libyaml's event stream into trees of ``Node``s that keep every node's source range.
///
/// Anchors, aliases and merge keys (`<<`) are resolved here; duplicate keys, tabs used as
/// indentation, invalid UTF-8, over-deep nesting and alias bombs are reported as diagnostics.
public enum YAMLLoader {
    /// Parses every document of one file. On a syntax error the documents before it are kept.
    public static func load(
        bytes: [UInt8], file: SourceFileID, limits: LoadLimits = .default, sink: inout DiagnosticSink
    ) -> [Node] {
        let start = SourceRange(file: file, start: Mark(line: 1, column: 1), end: Mark(line: 1, column: 1))
        if bytes.count > limits.maxFileSize {
            sink.error(
                "file-too-large",
                "file is \(bytes.count) bytes, over the limit of \(limits.maxFileSize) bytes",
                at: start)
            return []
        }
        if let documents = ParallelLoad.load(bytes: bytes, file: file, limits: limits) {
            return documents
        }
        var builder = Builder(file: file, bytes: bytes, limits: limits)
        let documents = builder.run()
        for problem in builder.problems {
            sink.error(problem.id, problem.message, at: problem.range)
        }
        return documents
    }
}

/// A scalar's text as a hashable key (for duplicate and merge checks); valid while its tree lives.
struct KeyBytes: Hashable, @unchecked Sendable {
    let bytes: UnsafeBufferPointer<UInt8>
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }
    static func == (a: KeyBytes, b: KeyBytes) -> Bool { ScalarRef.same(a.bytes, b.bytes) }
    func hash(into hasher: inout Hasher) { hasher.combine(bytes: UnsafeRawBufferPointer(bytes)) }
}

struct Problem: Sendable {
    var id: String
    var message: String
    var range: SourceRange
}

/// Builds one ``Tree`` from libyaml's events for a span of a file.
struct Builder: Sendable {
    /// An open mapping or list. Its children wait on `pending` from `childStart` on (a
    /// mapping's as key, value, key, value, …) and move to the tree as one run when it closes.
    struct Frame {
        var isMapping: Bool
        var start: Mark
        var anchor: String?
        var childStart: Int
        /// A mapping that has read a key and waits for its value.
        var awaitingValue = false
        /// Set while the awaited value belongs to a merge key `<<` (written at this range).
        var mergeKey: SourceRange?
        var merges: [(NodeRef, SourceRange)] = []
        /// Nodes in this subtree, counting alias expansions, for the alias budget.
        var size = 1
        /// Levels of nesting below this collection, counting what aliases paste in.
        var height = 0
    }

    let file: SourceFileID
    let bytes: [UInt8]
    let limits: LoadLimits
    /// The part of `bytes` to parse (a chunk starts at a line start), and the lines before it.
    var span: Range<Int>
    var lineOffset = 0
    /// How deep in the whole document this chunk's root sits (for the nesting limit).
    var depthOffset = 0
    /// Set when a merge key applied at the root or one level below (where chunks are joined).
    var shallowMerge = false
    var problems: [Problem] = []
    /// The nodes built so far; `roots` are its documents.
    private(set) var tree = Tree()
    private(set) var roots: [NodeRef] = []
    var stack: [Frame] = []
    var pending: [NodeRef] = []
    var anchors: [String: (node: NodeRef, size: Int, height: Int)] = [:]
    var root: NodeRef?
    /// The keys of the last large mapping built (without merge keys), for the two-core parse
    /// to find keys repeated across its cut without hashing them again. (They point into the
    /// text buffer: valid for the mapping that closes a chunk, after which no text is added.)
    var indexedKeys: (mapping: Int32, keys: [KeyBytes: Int])?
    var eventNodes = 0
    var aliasNodes = 0

    init(file: SourceFileID, bytes: [UInt8], limits: LoadLimits) {
        self.file = file
        self.bytes = bytes
        self.limits = limits
        self.span = 0..<bytes.count
    }

    /// The documents parsed, as nodes that keep the tree alive.
    var documents: [Node] { roots.map { Node($0, owner: tree) } }

    static func shortTag(_ uri: String) -> String {
        uri.hasPrefix("tag:yaml.org,2002:") ? "!!" + uri.dropFirst("tag:yaml.org,2002:".count) : uri
    }

    /// Collections may carry `!!map`/`!!seq` (or the non-specific `!`); anything else is refused.
    mutating func checkCollectionTag(_ raw: UnsafeMutablePointer<yaml_char_t>?, expected: String, _ event: yaml_event_t) {
        guard let raw else { return }
        let uri = String(cString: raw)
        if uri != "!" && uri != "tag:yaml.org,2002:" + expected {
            fail("unsupported-tag", "unsupported tag '\(Builder.shortTag(uri))' on a \(expected == "map" ? "mapping" : "list")", range(event.start_mark, event.end_mark))
        }
    }

    mutating func fail(_ id: String, _ message: String, _ range: SourceRange) {
        problems.append(Problem(id: id, message: message, range: range))
    }

    func range(_ start: yaml_mark_t, _ end: yaml_mark_t) -> SourceRange {
        SourceRange(file: file, start: mark(start), end: mark(end))
    }

    func mark(_ m: yaml_mark_t) -> Mark {
        Mark(line: Int32(truncatingIfNeeded: m.line + 1 + lineOffset), column: Int32(truncatingIfNeeded: m.column + 1))
    }

    @discardableResult
    mutating func run() -> [Node] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            fail("yaml-syntax", "could not initialize the YAML parser", SourceRange(file: file, start: Mark(line: 1, column: 1), end: Mark(line: 1, column: 1)))
            return []
        }
        defer { yaml_parser_delete(&parser) }
        // A UTF-8 byte order mark is allowed; libyaml, told the encoding, would read it as text.
        if span.lowerBound == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            span = 3..<span.upperBound
        }
        tree = Tree(expectedBytes: span.count)
        bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress.map { $0 + span.lowerBound }, span.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    reportParserError(parser)
                    return
                }
                let done = event.type == YAML_STREAM_END_EVENT
                let ok = handle(&event)
                yaml_event_delete(&event)
                if done || !ok { return }
            }
        }
        return documents
    }

    /// Handles one event; returns false to stop parsing.
    mutating func handle(_ event: inout yaml_event_t) -> Bool {
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            anchors.removeAll(keepingCapacity: true)
            root = nil
        case YAML_DOCUMENT_END_EVENT:
            if let root { roots.append(root) }
            root = nil
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let style: Scalar.Style
            switch data.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            var tag: Scalar.Tag?
            if let raw = data.tag {
                let uri = String(cString: raw)
                tag = Scalar.Tag(uri: uri)
                if tag == nil && uri != "!" {
                    fail("unsupported-tag", "unsupported tag '\(Builder.shortTag(uri))'; manifests may use only !!str, !!int, !!float, !!bool and !!null", range(event.start_mark, event.end_mark))
                }
            }
            let text = UnsafeRawBufferPointer(start: data.value, count: data.length)
            let node = tree.appendScalar(text, style: style, tag: tag, range: range(event.start_mark, event.end_mark))
            eventNodes += 1
            if let anchor = data.anchor { anchors[String(cString: anchor)] = (node, 1, 0) }
            return add(node, size: 1, height: 0)
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            let r = range(event.start_mark, event.end_mark)
            guard let target = anchors[name] else {
                fail("unknown-alias", "unknown alias '*\(name)': no anchor '&\(name)' is defined before it", r)
                return false
            }
            aliasNodes += target.size
            let budget = max(limits.aliasExpansionFloor, eventNodes)
            if aliasNodes > budget {
                fail("alias-budget", "aliases expand to more than \(budget) nodes (an alias bomb?); expansion stopped at '*\(name)'", r)
                return false
            }
            // An alias pastes its anchor's whole depth here; the nesting limit applies to it too.
            if depthOffset + stack.count + target.height > limits.maxDepth {
                fail("too-deep", "nesting is deeper than \(limits.maxDepth) levels once alias '*\(name)' is expanded", r)
                return false
            }
            // The alias's root reports the alias's position; its children are the anchor's.
            var record = target.node.record
            record.startMark = r.start
            record.endMark = r.end
            return add(tree.append(record, file: file), size: target.size, height: target.height)
        case YAML_SEQUENCE_START_EVENT:
            if depthOffset + stack.count >= limits.maxDepth {
                fail("too-deep", "nesting is deeper than \(limits.maxDepth) levels", range(event.start_mark, event.end_mark))
                return false
            }
            checkCollectionTag(event.data.sequence_start.tag, expected: "seq", event)
            let anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
            stack.append(Frame(isMapping: false, start: mark(event.start_mark), anchor: anchor, childStart: pending.count))
        case YAML_MAPPING_START_EVENT:
            if depthOffset + stack.count >= limits.maxDepth {
                fail("too-deep", "nesting is deeper than \(limits.maxDepth) levels", range(event.start_mark, event.end_mark))
                return false
            }
            checkCollectionTag(event.data.mapping_start.tag, expected: "map", event)
            let anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
            stack.append(Frame(isMapping: true, start: mark(event.start_mark), anchor: anchor, childStart: pending.count))
        case YAML_SEQUENCE_END_EVENT:
            let frame = stack.removeLast()
            let node = tree.appendSequence(pending[frame.childStart...], range: SourceRange(file: file, start: frame.start, end: mark(event.end_mark)))
            pending.removeSubrange(frame.childStart...)
            eventNodes += 1
            if let anchor = frame.anchor { anchors[anchor] = (node, frame.size, frame.height + 1) }
            return add(node, size: frame.size, height: frame.height + 1)
        case YAML_MAPPING_END_EVENT:
            let frame = stack.removeLast()
            let keys = Builder.removeDuplicates(&pending, from: frame.childStart, problems: &problems)
            if !frame.merges.isEmpty {
                Builder.applyMerges(&pending, from: frame.childStart, frame.merges, problems: &problems)
                if stack.count <= 1 { shallowMerge = true }
            }
            let node = tree.appendMapping(pending[frame.childStart...], range: SourceRange(file: file, start: frame.start, end: mark(event.end_mark)))
            if let keys, frame.merges.isEmpty { indexedKeys = (node.index, keys) }
            pending.removeSubrange(frame.childStart...)
            eventNodes += 1
            if let anchor = frame.anchor { anchors[anchor] = (node, frame.size, frame.height + 1) }
            return add(node, size: frame.size, height: frame.height + 1)
        default:
            break
        }
        return true
    }

    mutating func add(_ node: NodeRef, size: Int, height: Int) -> Bool {
        guard !stack.isEmpty else {
            root = node
            return true
        }
        let top = stack.count - 1
        stack[top].size += size
        if height > stack[top].height { stack[top].height = height }
        guard stack[top].isMapping else {
            pending.append(node)
            return true
        }
        if stack[top].awaitingValue {
            stack[top].awaitingValue = false
            if let mergeKey = stack[top].mergeKey {
                stack[top].mergeKey = nil
                // Several sources go in one `<<: [*a, *b]`; a second `<<` key is a duplicate key.
                if let first = stack[top].merges.first {
                    fail("duplicate-key", "duplicate key '<<' (first defined at line \(first.1.start.line), column \(first.1.start.column)); merge several mappings with <<: [*a, *b]", mergeKey)
                    return true
                }
                stack[top].merges.append((node, mergeKey))
            } else {
                pending.append(node)
            }
        } else {
            guard let s = node.scalar else {
                fail("complex-key", "mapping keys must be scalars, not \(node.typeDescription)", node.range)
                return false
            }
            stack[top].awaitingValue = true
            if (s.style == .plain && s.tag == nil && s.equals("<<")) || s.tag == .merge {
                stack[top].mergeKey = node.range
            } else {
                pending.append(node)
            }
        }
        return true
    }

    /// Reports repeated keys among the pairs `children[start...]` (key, value, key, value, …)
    /// and keeps only the first of each, so later checks see one value. Returns the keys'
    /// index when it built one (for a large mapping).
    @discardableResult
    static func removeDuplicates(_ children: inout [NodeRef], from start: Int, problems: inout [Problem]) -> [KeyBytes: Int]? {
        let count = (children.count - start) / 2
        if count < 2 { return nil }
        var index: [KeyBytes: Int]?
        var duplicates: [Int] = []
        @inline(__always) func key(_ i: Int) -> ScalarRef { children[start + 2 * i].scalar! }
        if count <= 12 {
            for i in 1..<count {
                let k = key(i).bytes
                for j in 0..<i where ScalarRef.same(key(j).bytes, k) {
                    problems.append(duplicate(children[start + 2 * i], first: children[start + 2 * j]))
                    duplicates.append(i)
                    break
                }
            }
        } else {
            var seen: [KeyBytes: Int] = [:]
            seen.reserveCapacity(count)
            for i in 0..<count {
                let k = KeyBytes(key(i).bytes)
                if let j = seen[k] {
                    problems.append(duplicate(children[start + 2 * i], first: children[start + 2 * j]))
                    duplicates.append(i)
                } else {
                    seen[k] = i
                }
            }
            index = seen
        }
        for i in duplicates.reversed() { children.removeSubrange((start + 2 * i)..<(start + 2 * i + 2)) }
        return index
    }

    static func duplicate(_ key: NodeRef, first: NodeRef) -> Problem {
        Problem(
            id: "duplicate-key", message:
            "duplicate key '\(key.scalar!.text.truncatedForMessage)' (first defined at line \(first.range.start.line), column \(first.range.start.column))",
            range: key.range)
    }

    /// Applies `<<` merge keys to the pairs `children[start...]`: keys written in the mapping
    /// win; earlier merge sources win over later ones.
    static func applyMerges(_ children: inout [NodeRef], from start: Int, _ merges: [(NodeRef, SourceRange)], problems: inout [Problem]) {
        var present = Set<KeyBytes>()
        for i in stride(from: start, to: children.count, by: 2) { present.insert(KeyBytes(children[i].scalar!.bytes)) }
        for (value, keyRange) in merges {
            var sources: [NodeRef] = []
            switch value.kind {
            case .mapping: sources = [value]
            case .sequence(let items): sources = Array(items)
            case .scalar:
                problems.append(Problem(id: "bad-merge", message: "a merge key '<<' needs a mapping or a list of mappings, got \(value.typeDescription)", range: keyRange))
                continue
            }
            for source in sources {
                guard case .mapping(let sourcePairs) = source.kind else {
                    problems.append(Problem(id: "bad-merge", message: "a merge key '<<' needs a mapping or a list of mappings, got \(source.typeDescription)", range: source.range))
                    continue
                }
                for pair in sourcePairs where present.insert(KeyBytes(pair.key.scalar!.bytes)).inserted {
                    children.append(pair.key)
                    children.append(pair.value)
                }
            }
        }
    }

    mutating func reportParserError(_ parser: yaml_parser_t) {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        let context = parser.context.map { String(cString: $0) }
        if parser.error == YAML_READER_ERROR {
            let offset = Int(parser.problem_offset) + span.lowerBound
            let m = SourceFiles.mark(forOffset: offset, in: bytes)
            let r = SourceRange(file: file, start: m, end: m)
            if problem.contains("UTF-8") || problem.contains("utf-8") {
                fail("invalid-utf8", "invalid UTF-8 at byte offset \(offset) (\(problem)); manifests must be UTF-8 text", r)
            } else if problem.contains("control characters") {
                fail("invalid-character", "control character at byte offset \(offset) is not allowed in YAML", r)
            } else {
                fail("yaml-syntax", "\(problem) at byte offset \(offset)", r)
            }
            return
        }
        let m = mark(parser.problem_mark)
        let r = SourceRange(file: file, start: m, end: m)
        if let tab = tabRange(line: Int(parser.problem_mark.line)) {
            fail("tab-indentation", "tab character used for indentation; YAML requires spaces", tab)
            return
        }
        var message = "YAML syntax error: \(problem)"
        if let context { message += " (\(context)" + (parser.context_mark.line != parser.problem_mark.line || parser.context_mark.column != parser.problem_mark.column ? " at line \(parser.context_mark.line + 1), column \(parser.context_mark.column + 1))" : ")") }
        fail("yaml-syntax", message, r)
    }

    /// Byte ranges of 0-based lines, computed only when an error needs them.
    func lineBytes(_ line: Int) -> ArraySlice<UInt8>? {
        var current = 0
        var start = 0
        var i = 0
        while current < line {
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "\n") { current += 1; start = i + 1 }
            i += 1
        }
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
        return bytes[start..<end]
    }

    func leadingTab(_ line: ArraySlice<UInt8>) -> Int? {
        var column = 0
        for byte in line {
            if byte == UInt8(ascii: "\t") { return column }
            if byte != UInt8(ascii: " ") { return nil }
            column += 1
        }
        return nil
    }

    /// libyaml reports tabs in indentation as generic scanner errors: the tab in the leading
    /// whitespace of the error's line (or the line before), to say so plainly.
    func tabRange(line: Int) -> SourceRange? {
        for candidate in [line, line - 1] where candidate >= 0 {
            if let bytes = lineBytes(candidate), let column = leadingTab(bytes) {
                let m = Mark(line: Int32(candidate + 1), column: Int32(column + 1))
                return SourceRange(file: file, start: m, end: m)
            }
        }
        return nil
    }
}
