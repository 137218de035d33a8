import KumoEvents

/// The fields of a mapping after its keys were checked: each known key's value, by key.
///
/// Built for every mapping read, so it allocates nothing in the common case: a fixed table maps
/// each known key to its pair (in the mapping or in its defaults).
struct Fields {
    static let capacity = 16
    /// Slot encoding: 0 absent; n > 0 `pairs[n - 1]`; n < 0 `defaults[-n - 1]`;
    /// n >= `mergedBase` node `n - mergedBase` of the reader's overlay (a mapping present in
    /// both, deep-merged).
    private static let mergedBase: Int32 = 1 << 30

    var node: NodeRef
    let keys: [String]
    private let pairs: NodeRef.Pairs?
    private let defaults: NodeRef.Pairs?
    private let overlay: Tree?
    private var slots = InlineArray<16, Int32>(repeating: 0)
    /// How many known keys the mapping itself has (values from defaults not counted).
    private(set) var count = 0

    /// `defaults` are the pairs of a `defaults.function`/`defaults.service` mapping: they fill the
    /// keys the mapping lacks, and a mapping-valued key present in both is deep-merged into
    /// `overlay` (which must outlive these fields).
    init(node: NodeRef, keys: [String], pairs: NodeRef.Pairs?, defaults: NodeRef.Pairs? = nil, overlay: Tree? = nil) {
        precondition(keys.count <= Fields.capacity, "a schema of more than \(Fields.capacity) keys")
        self.node = node
        self.keys = keys
        self.pairs = pairs
        self.defaults = defaults
        self.overlay = overlay
        if let defaults {
            for (i, pair) in defaults.enumerated() {
                guard let index = Fields.index(of: pair.key.scalar!, in: keys) else { continue }
                slots[index] = -Int32(i) - 1
            }
        }
        guard let pairs else { return }
        for (i, pair) in pairs.enumerated() {
            guard let index = Fields.index(of: pair.key.scalar!, in: keys) else { continue }
            let previous = slots[index]
            if previous < 0, let defaults, let overlay, defaults[Int(-previous - 1)].value.isMapping, pair.value.isMapping {
                let merged = ProjectAssembler.merged(defaults[Int(-previous - 1)].value, pair.value, into: overlay)
                slots[index] = Fields.mergedBase + merged.index
            } else {
                slots[index] = Int32(i) + 1
            }
            count += 1
        }
    }

    subscript(key: String) -> NodeRef? {
        guard let index = Fields.index(of: key, in: keys) else { return nil }
        let slot = slots[index]
        if slot == 0 { return nil }
        if slot >= Fields.mergedBase { return NodeRef(storage: overlay!.storage, index: slot - Fields.mergedBase) }
        return slot > 0 ? pairs![Int(slot - 1)].value : defaults![Int(-slot - 1)].value
    }

    func has(_ key: String) -> Bool {
        guard let index = Fields.index(of: key, in: keys) else { return false }
        return slots[index] != 0
    }

    /// The index of a mapping's key among `keys`, compared as bytes.
    @inline(__always)
    static func index(of key: ScalarRef, in keys: [String]) -> Int? {
        for (i, candidate) in keys.enumerated() where key.equals(candidate) { return i }
        return nil
    }

    /// `keys.firstIndex(of:)`, comparing lengths first: unequal strings compare slowly.
    @inline(__always)
    static func index(of key: String, in keys: [String]) -> Int? {
        let count = key.utf8.count
        for (i, candidate) in keys.enumerated() where candidate.utf8.count == count && candidate == key { return i }
        return nil
    }
}

/// Reads typed values from nodes, collecting a diagnostic for every problem it meets.
///
/// Scalars are typed by the field that reads them: a string field takes `no` or `0755` as text,
/// a number field refuses a quoted `"12"`. Every message names the key and what was expected;
/// the context a message names (`ctx`, such as "function 'createOrder'") and the key path are
/// autoclosures, so they are built only for a message.
struct Reader: Sendable {
    var sink: DiagnosticSink
    var context: InterpolationContext
    /// Services named in `${service:…}` while reading the current resource.
    var serviceReferences: Set<String> = []
    /// Problems inside this range are not reported (values merged from `defaults`, already checked).
    /// Problems the standalone read of `defaults` reported, by position and ID: when a
    /// resource reads the same default value, the same problem is not reported again.
    /// (Problems that depend on the resource, like a handler for its runtime, still are.)
    var reportedInDefaults: Set<Reported> = []
    /// Schedule expressions already parsed: a large project repeats a few schedules.
    var knownSchedules: [String: Result<Schedule, ScheduleError>] = [:]
    /// Where mappings merged with `defaults` are built (see ``Fields``). Their nodes last until
    /// the next resource with defaults is read; only their children (original nodes) are kept.
    var overlay = Tree()
    /// Errors withheld because the defaults read already reported them.
    var quietErrors = 0

    struct Reported: Hashable, Sendable {
        var file: String?
        var line: Int?
        var column: Int?
        var id: String

        init(_ diagnostic: Diagnostic) {
            self.file = diagnostic.file
            self.line = diagnostic.line
            self.column = diagnostic.column
            self.id = diagnostic.id
        }

        init(file: String, start: Mark, id: String) {
            self.file = file
            self.line = Int(start.line)
            self.column = Int(start.column)
            self.id = id
        }
    }

    init(sink: DiagnosticSink, context: InterpolationContext) {
        self.sink = sink
        self.context = context
    }

    // MARK: Reporting

    func isQuiet(_ range: SourceRange, _ id: String) -> Bool {
        !reportedInDefaults.isEmpty && reportedInDefaults.contains(Reported(file: sink.files.path(range.file), start: range.start, id: id))
    }

    mutating func error(_ id: String, _ message: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath) {
        if isQuiet(node.range, id) {
            quietErrors += 1
            return
        }
        sink.error(id, message, at: node.range, path: path())
    }

    mutating func warning(_ id: String, _ message: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath) {
        if isQuiet(node.range, id) { return }
        sink.warning(id, message, at: node.range, path: path())
    }

    static func keyName(_ path: @autoclosure () -> KeyPath) -> String {
        for component in path().components.reversed() {
            if case .key(let key) = component { return key }
        }
        return "value"
    }

    mutating func mismatch(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, expected: String, got: String? = nil) {
        error("type-mismatch", "'\(Reader.keyName(path()))' in \(ctx()): expected \(expected), got \(got ?? node.typeDescription)", node, path())
    }

    // MARK: Structure

    /// Checks a mapping's keys against `keys`; unknown keys (not starting with `x-`) are errors.
    mutating func mapping(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, keys: [String], defaults: NodeRef.Pairs? = nil) -> Fields? {
        guard case .mapping(let pairs) = node.kind else {
            if node.isNull { return Fields(node: node, keys: keys, pairs: nil, defaults: defaults) }
            mismatch(node, path(), ctx(), expected: "a mapping")
            return nil
        }
        // Merged mappings go to this reader's own overlay (copies of a reader share one until
        // they merge), emptied for each resource: a merged mapping is read with its resource.
        if defaults != nil {
            if isKnownUniquelyReferenced(&overlay) { overlay.removeAll() } else { overlay = Tree() }
        }
        let fields = Fields(node: node, keys: keys, pairs: pairs, defaults: defaults, overlay: defaults == nil ? nil : overlay)
        if fields.count != pairs.count {
            for pair in pairs {
                let key = pair.key.scalar!.text
                if !keys.contains(key) && !Reader.isExtensionKey(key) {
                    error("unknown-key", "unknown key '\(key.truncatedForMessage)' in \(ctx())\(Suggestion.suffix(key, in: keys))", pair.key, path() / key)
                }
            }
        }
        return fields
    }

    /// A mapping whose keys are names chosen by the user; returns its pairs, `x-` keys left out.
    mutating func namedEntries(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> LazyFilterSequence<NodeRef.Pairs> {
        guard case .mapping(let pairs) = node.kind else {
            if !node.isNull { mismatch(node, path(), ctx(), expected: "a mapping of names to entries") }
            return NodeRef.Pairs.empty.lazy.filter { _ in true }
        }
        return pairs.lazy.filter { !Reader.isExtensionKey($0.key.scalar!) }
    }

    /// Keys starting with `x-` are ignored everywhere (a place for anchors, as in Compose).
    @inline(__always)
    static func isExtensionKey(_ key: String) -> Bool {
        var bytes = key.utf8.makeIterator()
        return bytes.next() == UInt8(ascii: "x") && bytes.next() == UInt8(ascii: "-")
    }

    @inline(__always)
    static func isExtensionKey(_ key: ScalarRef) -> Bool {
        key.hasPrefix(UInt8(ascii: "x"), UInt8(ascii: "-"))
    }

    mutating func list(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> NodeRef.Items? {
        switch node.kind {
        case .sequence(let items): return items
        default:
            if node.isNull { return .empty }
            mismatch(node, path(), ctx(), expected: "a list")
            return nil
        }
    }

    mutating func required(_ fields: Fields, _ key: String, _ path: @autoclosure () -> KeyPath, _ what: String, because: String = "") -> NodeRef? {
        if let value = fields[key] { return value }
        error("missing-key", "\(what) is missing required key '\(key)'\(because)", fields.node, path())
        return nil
    }

    // MARK: Scalars

    /// The scalar's text after interpolation, and whether it was written as a string.
    private mutating func scalarText(
        _ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, expected: String, allow: InterpolationAllowance = .values
    ) -> (text: String, quoted: Bool)? {
        guard case .scalar(let scalar) = node.kind, !scalar.isNull else {
            mismatch(node, path(), ctx(), expected: expected)
            return nil
        }
        guard scalar.contains(UInt8(ascii: "$")) else {
            return (scalar.text, scalar.style != .plain || scalar.tag == .str)
        }
        guard let text = interpolate(scalar.text, at: node, path(), allow: allow) else { return nil }
        guard let literal = text.literal else {
            error("secret-not-allowed", "'\(Reader.keyName(path()))' in \(ctx()): secrets and '${port}' are only allowed in environment values and commands", node, path())
            return nil
        }
        // An interpolated value takes the type of the field, however it was quoted.
        return (literal, false)
    }

    mutating func string(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> String? {
        guard case .scalar(let scalar) = node.kind, !scalar.isNull else {
            mismatch(node, path(), ctx(), expected: "a string")
            return nil
        }
        if let tag = scalar.tag, tag != .str {
            mismatch(node, path(), ctx(), expected: "a string", got: "a value tagged !!\(tag)")
            return nil
        }
        return scalarText(node, path(), ctx(), expected: "a string")?.text
    }

    /// A string that may hold secrets and, where allowed, `${port}`.
    mutating func text(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, allow: InterpolationAllowance) -> Text? {
        guard case .scalar(let scalar) = node.kind, !scalar.isNull else {
            mismatch(node, path(), ctx(), expected: "a string")
            return nil
        }
        return interpolate(scalar.text, at: node, path(), allow: allow.union(.values))
    }

    mutating func int(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, in range: ClosedRange<Int>? = nil, unit: String = "") -> Int? {
        guard let (text, quoted) = scalarText(node, path(), ctx(), expected: "an integer") else { return nil }
        guard !quoted, node.scalar?.tag == nil || node.scalar?.tag == .int, let value = Reader.parseInt(text) else {
            mismatch(node, path(), ctx(), expected: "an integer", got: quoted ? "the string \"\(text.truncatedForMessage)\"" : nil)
            return nil
        }
        if let range, !range.contains(value) {
            error("out-of-range", "'\(Reader.keyName(path()))' in \(ctx()): expected a value from \(range.lowerBound) to \(range.upperBound)\(unit), got \(value)", node, path())
            return nil
        }
        return value
    }

    mutating func number(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, minimum: Double? = nil, exclusiveMinimum: Bool = false, maximum: Double? = nil) -> Double? {
        guard let (text, quoted) = scalarText(node, path(), ctx(), expected: "a number") else { return nil }
        guard !quoted, let value = Reader.parseNumber(text) else {
            mismatch(node, path(), ctx(), expected: "a number", got: quoted ? "the string \"\(text.truncatedForMessage)\"" : nil)
            return nil
        }
        if let minimum, exclusiveMinimum ? value <= minimum : value < minimum {
            error("out-of-range", "'\(Reader.keyName(path()))' in \(ctx()): expected a number \(exclusiveMinimum ? "greater than" : "of at least") \(Reader.format(minimum)), got \(text)", node, path())
            return nil
        }
        if let maximum, value > maximum {
            error("out-of-range", "'\(Reader.keyName(path()))' in \(ctx()): expected a number of at most \(Reader.format(maximum)), got \(text)", node, path())
            return nil
        }
        return value
    }

    /// A number within a field's bounds (see ``Field/Bounds``).
    mutating func number(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, in bounds: Field.Bounds) -> Double? {
        number(node, path(), ctx(), minimum: bounds.minimum, exclusiveMinimum: bounds.exclusiveMinimum, maximum: bounds.maximum)
    }

    mutating func bool(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> Bool? {
        guard let (text, quoted) = scalarText(node, path(), ctx(), expected: "true or false") else { return nil }
        if !quoted {
            switch text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        mismatch(node, path(), ctx(), expected: "true or false", got: quoted ? "the string \"\(text.truncatedForMessage)\"" : "'\(text.truncatedForMessage)'")
        return nil
    }

    mutating func duration(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, in range: ClosedRange<Duration>? = nil) -> Duration? {
        guard let (text, _) = scalarText(node, path(), ctx(), expected: "a duration such as 250ms, 10s, 5m or 1h") else { return nil }
        guard let value = Duration(parsing: text) else {
            let hint = Reader.parseInt(text) != nil ? " (add a unit: '\(text)s')" : ""
            mismatch(node, path(), ctx(), expected: "a duration such as 250ms, 10s, 5m or 1h\(hint)")
            return nil
        }
        if let range, !range.contains(value) {
            error("out-of-range", "'\(Reader.keyName(path()))' in \(ctx()): expected a duration from \(range.lowerBound) to \(range.upperBound), got \(text)", node, path())
            return nil
        }
        return value
    }

    /// A size in MB: `512`, `512Mi`, `1Gi`, `1.5G`.
    mutating func size(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, in range: ClosedRange<Int>? = nil) -> Int? {
        let expected = "a size in MB such as 512, 512Mi or 1Gi"
        guard let (text, quoted) = scalarText(node, path(), ctx(), expected: expected) else { return nil }
        var value: Int?
        if !quoted, let plain = Reader.parseInt(text) {
            value = plain
        } else {
            let units: [(String, Double)] = [("Mi", 1), ("Gi", 1024), ("MB", 1), ("GB", 1000), ("M", 1), ("G", 1000)]
            for (suffix, factor) in units where text.hasSuffix(suffix) {
                let number = text.dropLast(suffix.count)
                if let n = Reader.parseNumber(String(number)), n >= 0, !number.hasPrefix("+") {
                    let mb = n * factor
                    if mb == mb.rounded(), mb < 1e12 { value = Int(mb) }
                }
                break
            }
        }
        guard let value else {
            mismatch(node, path(), ctx(), expected: expected)
            return nil
        }
        if let range, !range.contains(value) {
            error("out-of-range", "'\(Reader.keyName(path()))' in \(ctx()): expected a size from \(range.lowerBound) to \(range.upperBound) MB, got \(text)", node, path())
            return nil
        }
        return value
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, as: E.Type) -> E? where E.RawValue == String {
        guard let text = string(node, path(), ctx()) else { return nil }
        if let value = E(rawValue: text) { return value }
        let options = E.allCases.map(\.rawValue)
        error("invalid-value", "'\(Reader.keyName(path()))' in \(ctx()): expected one of \(options.joined(separator: ", ")), got '\(text.truncatedForMessage)'\(Suggestion.suffix(text, in: options))", node, path())
        return nil
    }

    /// An argv list: strings (numbers are taken as their text), secrets and `${port}` where allowed.
    mutating func command(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, allow: InterpolationAllowance) -> [Text]? {
        guard let items = list(node, path(), ctx()) else { return nil }
        if items.isEmpty {
            error("empty-list", "'\(Reader.keyName(path()))' in \(ctx()): expected a non-empty argv list such as [\"python3\", \"app.py\"]", node, path())
            return nil
        }
        var result: [Text] = []
        var ok = true
        for (i, item) in items.enumerated() {
            if let t = text(item, path() / i, ctx(), allow: allow) { result.append(t) } else { ok = false }
        }
        if ok, let first = result.first?.literal, first.isEmpty {
            error("invalid-value", "'\(Reader.keyName(path()))' in \(ctx()): the program (first element) is empty", items[0], path() / 0)
            return nil
        }
        return ok ? result : nil
    }

    /// `environment:` — names to strings, numbers or booleans (kept as text).
    mutating func environment(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, allow: InterpolationAllowance, reserved: (String) -> Bool) -> [String: Text] {
        let entries = namedEntries(node, path(), ctx())
        var result: [String: Text] = [:]
        result.reserveCapacity(entries.count)
        for pair in entries {
            let name = pair.key.scalar!.text
            func p() -> KeyPath { path() / name }
            guard Reader.isEnvironmentName(name) else {
                error("invalid-name", "environment variable name '\(name.truncatedForMessage)' in \(ctx()) must match [A-Za-z_][A-Za-z0-9_]*", pair.key, p())
                continue
            }
            if reserved(name) {
                error("reserved-name", "environment variable '\(name)' in \(ctx()) is reserved: the runtime sets it", pair.key, p())
                continue
            }
            guard case .scalar(let scalar) = pair.value.kind else {
                mismatch(pair.value, p(), ctx(), expected: "a string, number or boolean")
                continue
            }
            if scalar.isNull {
                mismatch(pair.value, p(), ctx(), expected: "a string, number or boolean")
                continue
            }
            if let t = text(pair.value, p(), ctx(), allow: allow) { result[name] = t }
        }
        return result
    }

    // MARK: Parsing

    static func parseInt(_ text: String) -> Int? {
        var utf8 = text.utf8[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        guard !utf8.isEmpty, utf8.count <= 18 else { return nil }
        var value = 0
        for byte in utf8 {
            guard ASCII.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return negative ? -value : value
    }

    /// YAML 1.2 core numbers: decimal integers and floats (no `.inf`, no base-60, no octal).
    static func parseNumber(_ text: String) -> Double? {
        if let i = parseInt(text) { return Double(i) }
        let allowed = text.utf8.allSatisfy { ASCII.isDigit($0) || $0 == 46 || $0 == 45 || $0 == 43 || $0 == 101 || $0 == 69 }
        guard allowed, text.utf8.contains(where: ASCII.isDigit), let value = Double(text), value.isFinite else { return nil }
        return value
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
