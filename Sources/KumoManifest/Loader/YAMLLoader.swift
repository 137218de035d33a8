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

/// Turns libyaml's event stream into ``Node`` trees that keep every node's source range.
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

struct Problem: Sendable {
    var id: String
    var message: String
    var range: SourceRange
}

struct Builder: Sendable {
    /// An open mapping or list; children are appended in place (`stack[top].pairs.append`).
    struct Frame {
        var isMapping: Bool
        var start: Mark
        var anchor: String?
        var pairs: [Node.Pair] = []
        var items: [Node] = []
        var pendingKey: Node?
        var merges: [(Node, SourceRange)] = []
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
    var stack: [Frame] = []
    var anchors: [String: (node: Node, size: Int, height: Int)] = [:]
    var documents: [Node] = []
    var root: Node?
    var eventNodes = 0
    var aliasNodes = 0

    init(file: SourceFileID, bytes: [UInt8], limits: LoadLimits) {
        self.file = file
        self.bytes = bytes
        self.limits = limits
        self.span = 0..<bytes.count
    }

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
        return bytes.withUnsafeBufferPointer { buffer -> [Node] in
            yaml_parser_set_input_string(&parser, buffer.baseAddress.map { $0 + span.lowerBound }, span.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    reportParserError(parser)
                    return documents
                }
                let done = event.type == YAML_STREAM_END_EVENT
                let ok = handle(&event)
                yaml_event_delete(&event)
                if done || !ok { return documents }
            }
        }
    }

    /// Handles one event; returns false to stop parsing.
    mutating func handle(_ event: inout yaml_event_t) -> Bool {
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            anchors.removeAll(keepingCapacity: true)
            root = nil
        case YAML_DOCUMENT_END_EVENT:
            if let root { documents.append(root) }
            root = nil
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = data.length == 0 ? "" : String(
                decoding: UnsafeRawBufferPointer(start: data.value, count: data.length), as: UTF8.self)
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
            let node = Node(.scalar(Scalar(text: text, style: style, tag: tag)), range: range(event.start_mark, event.end_mark))
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
            // The alias's root reports the alias's position; its children keep the anchor's.
            var node = target.node
            node.range = r
            // An alias pastes its anchor's whole depth here; the nesting limit applies to it too.
            if depthOffset + stack.count + target.height > limits.maxDepth {
                fail("too-deep", "nesting is deeper than \(limits.maxDepth) levels once alias '*\(name)' is expanded", r)
                return false
            }
            return add(node, size: target.size, height: target.height)
        case YAML_SEQUENCE_START_EVENT:
            if depthOffset + stack.count >= limits.maxDepth {
                fail("too-deep", "nesting is deeper than \(limits.maxDepth) levels", range(event.start_mark, event.end_mark))
                return false
            }
            checkCollectionTag(event.data.sequence_start.tag, expected: "seq", event)
            let anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
            stack.append(Frame(isMapping: false, start: mark(event.start_mark), anchor: anchor))
        case YAML_MAPPING_START_EVENT:
            if depthOffset + stack.count >= limits.maxDepth {
                fail("too-deep", "nesting is deeper than \(limits.maxDepth) levels", range(event.start_mark, event.end_mark))
                return false
            }
            checkCollectionTag(event.data.mapping_start.tag, expected: "map", event)
            let anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
            stack.append(Frame(isMapping: true, start: mark(event.start_mark), anchor: anchor))
        case YAML_SEQUENCE_END_EVENT:
            let frame = stack.removeLast()
            let node = Node(.sequence(frame.items), range: SourceRange(file: file, start: frame.start, end: mark(event.end_mark)))
            eventNodes += 1
            if let anchor = frame.anchor { anchors[anchor] = (node, frame.size, frame.height + 1) }
            return add(node, size: frame.size, height: frame.height + 1)
        case YAML_MAPPING_END_EVENT:
            var frame = stack.removeLast()
            removeDuplicates(&frame.pairs)
            if !frame.merges.isEmpty {
                applyMerges(&frame.pairs, frame.merges)
                if stack.count <= 1 { shallowMerge = true }
            }
            let node = Node(.mapping(frame.pairs), range: SourceRange(file: file, start: frame.start, end: mark(event.end_mark)))
            eventNodes += 1
            if let anchor = frame.anchor { anchors[anchor] = (node, frame.size, frame.height + 1) }
            return add(node, size: frame.size, height: frame.height + 1)
        default:
            break
        }
        return true
    }

    mutating func add(_ node: Node, size: Int, height: Int) -> Bool {
        guard !stack.isEmpty else {
            root = node
            return true
        }
        let top = stack.count - 1
        stack[top].size += size
        if height > stack[top].height { stack[top].height = height }
        guard stack[top].isMapping else {
            stack[top].items.append(node)
            return true
        }
        if let key = stack[top].pendingKey {
            stack[top].pendingKey = nil
            if let s = key.scalar, (s.style == .plain && s.text == "<<" && s.tag == nil) || s.tag == .merge {
                // Several sources go in one `<<: [*a, *b]`; a second `<<` key is a duplicate key.
                if let first = stack[top].merges.first {
                    fail("duplicate-key", "duplicate key '<<' (first defined at line \(first.1.start.line), column \(first.1.start.column)); merge several mappings with <<: [*a, *b]", key.range)
                    return true
                }
                stack[top].merges.append((node, key.range))
            } else {
                stack[top].pairs.append(Node.Pair(key: key, value: node))
            }
        } else {
            guard case .scalar = node.kind else {
                fail("complex-key", "mapping keys must be scalars, not \(node.typeDescription)", node.range)
                return false
            }
            stack[top].pendingKey = node
        }
        return true
    }

    /// Reports repeated keys and keeps only the first of each, so later checks see one value.
    mutating func removeDuplicates(_ pairs: inout [Node.Pair]) {
        if pairs.count < 2 { return }
        var duplicates: [Int] = []
        if pairs.count <= 12 {
            for i in 1..<pairs.count {
                let key = pairs[i].key.scalar!.text
                for j in 0..<i where pairs[j].key.scalar!.text == key {
                    duplicate(pairs[i].key, first: pairs[j].key)
                    duplicates.append(i)
                    break
                }
            }
        } else {
            var seen: [String: Int] = [:]
            seen.reserveCapacity(pairs.count)
            for (i, pair) in pairs.enumerated() {
                let key = pair.key.scalar!.text
                if let j = seen[key] {
                    duplicate(pair.key, first: pairs[j].key)
                    duplicates.append(i)
                } else {
                    seen[key] = i
                }
            }
        }
        for i in duplicates.reversed() { pairs.remove(at: i) }
    }

    mutating func duplicate(_ key: Node, first: Node) {
        fail(
            "duplicate-key",
            "duplicate key '\(key.scalar!.text.truncatedForMessage)' (first defined at line \(first.range.start.line), column \(first.range.start.column))",
            key.range)
    }

    /// Applies `<<` merge keys: keys written in the mapping win; earlier merge sources win over later ones.
    mutating func applyMerges(_ pairs: inout [Node.Pair], _ merges: [(Node, SourceRange)]) {
        var present = Set(pairs.map { $0.key.scalar!.text })
        for (value, keyRange) in merges {
            var sources: [Node] = []
            switch value.kind {
            case .mapping: sources = [value]
            case .sequence(let items): sources = items
            case .scalar:
                fail("bad-merge", "a merge key '<<' needs a mapping or a list of mappings, got \(value.typeDescription)", keyRange)
                continue
            }
            for source in sources {
                guard case .mapping(let sourcePairs) = source.kind else {
                    fail("bad-merge", "a merge key '<<' needs a mapping or a list of mappings, got \(source.typeDescription)", source.range)
                    continue
                }
                for pair in sourcePairs where present.insert(pair.key.scalar!.text).inserted {
                    pairs.append(pair)
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
