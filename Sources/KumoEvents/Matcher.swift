/// Many rules' patterns compiled into one machine: the cost of matching grows with the event,
/// not with the number of patterns.
///
/// Each pattern expands into alternatives (one per combination of `$or` branches), each a list of
/// leaf fields at flattened key paths. The key paths form a trie that the event is walked
/// against, so fields no pattern names are skipped whole. At each path an index maps a leaf
/// value to the (alternative, field) conditions it satisfies: a hash map for exact values and
/// `equals-ignore-case`, maps of prefixes and suffixes probed at the few lengths present, a
/// segment tree for numeric ranges, and a short list for the rest. An alternative whose counted
/// fields were all hit becomes a candidate, and candidates are confirmed with the reference
/// evaluator (``Pattern/matches(_:)``), which settles `exists: false`, `anything-but` details and
/// the consistency of fields within one list element.
///
/// Which fields are counted: those that a present value can satisfy (not `exists: false`), and of
/// those the selective ones (exact, prefix, suffix, equals-ignore-case, numeric, anchored
/// wildcard) when an alternative has any; otherwise the others (`anything-but`, `exists: true`,
/// `cidr`, unanchored wildcards). An alternative with no countable field (only `exists: false`)
/// is checked on every event.
///
/// Immutable after `init`; safe to share between tasks.
public struct Matcher: Sendable {
    struct Alternative: Sendable {
        var pattern: Int32
        var fullMask: UInt64
    }

    struct Hit: Sendable {
        var alternative: Int32
        var bit: UInt8
    }

    struct Entry: Sendable {
        var hit: Hit
        /// A condition the value must still pass (wildcards found by their literal ends).
        var check: Condition?
    }

    struct PathNode: Sendable {
        var children: [String: Int32] = [:]
        var index: LeafIndex?
    }

    private let patterns: [(id: Int, pattern: Pattern)]
    private let alternatives: [Alternative]
    private let nodes: [PathNode]
    /// Patterns with an alternative that has no countable field.
    private let always: [Int32]

    /// More `$or` combinations than this per pattern are not expanded: the pattern is then
    /// indexed by the fields outside every `$or`.
    static let maximumAlternatives = 64

    public init(_ patterns: [(id: Int, pattern: Pattern)]) {
        self.patterns = patterns
        var builder = MatcherBuilder()
        for (p, entry) in patterns.enumerated() {
            builder.add(entry.pattern.root, pattern: Int32(p))
        }
        self.alternatives = builder.alternatives
        self.always = builder.always
        self.nodes = builder.finish()
    }

    /// The ids of the patterns the event matches, ascending.
    public func matches(_ event: JSON) -> [Int] {
        var masks: [Int32: UInt64] = [:]
        walk(0, event, &masks)
        var candidates: [Int32] = always
        for (alternative, mask) in masks where mask == alternatives[Int(alternative)].fullMask {
            candidates.append(alternatives[Int(alternative)].pattern)
        }
        guard !candidates.isEmpty else { return [] }
        candidates.sort()
        var ids: [Int] = []
        var previous: Int32 = -1
        for p in candidates where p != previous {
            previous = p
            let entry = patterns[Int(p)]
            if entry.pattern.matches(event) { ids.append(entry.id) }
        }
        ids.sort()
        return ids
    }

    private func walk(_ node: Int, _ value: JSON, _ masks: inout [Int32: UInt64]) {
        switch value {
        case .object(let pairs):
            let children = nodes[node].children
            if children.isEmpty { return }
            for pair in pairs {
                if let child = children[pair.key] { walk(Int(child), pair.value, &masks) }
            }
        case .array(let items):
            for item in items { walk(node, item, &masks) }
        default:
            nodes[node].index?.lookup(value) { hit in masks[hit.alternative, default: 0] |= 1 << UInt64(hit.bit) }
        }
    }
}

/// Expands patterns into alternatives and files their conditions under key paths.
struct MatcherBuilder {
    var alternatives: [Matcher.Alternative] = []
    var always: [Int32] = []
    var nodes: [Matcher.PathNode] = [Matcher.PathNode()]
    var indexes: [Int32: LeafIndexBuilder] = [:]

    /// A leaf field of an alternative: its trie node and its conditions.
    typealias Leaf = (node: Int32, conditions: [Condition])

    mutating func add(_ root: PatternNode, pattern: Int32) {
        var expansions = expand(root, under: 0)
        if expansions == nil || expansions!.count > Matcher.maximumAlternatives {
            expansions = [required(root, under: 0)]
        }
        var needsAlways = false
        for leaves in expansions! {
            let strong = leaves.filter { $0.conditions.allSatisfy(LeafIndexBuilder.isSelective) }
            let countable = leaves.filter { !$0.conditions.contains { if case .exists(false) = $0 { true } else { false } } }
            let counted = Array((strong.isEmpty ? countable : strong).prefix(64))
            if counted.isEmpty {
                needsAlways = true
                continue
            }
            let alternative = Int32(alternatives.count)
            alternatives.append(Matcher.Alternative(pattern: pattern, fullMask: counted.count == 64 ? ~0 : (1 << UInt64(counted.count)) - 1))
            for (bit, leaf) in counted.enumerated() {
                let hit = Matcher.Hit(alternative: alternative, bit: UInt8(bit))
                for condition in leaf.conditions {
                    indexes[leaf.node, default: LeafIndexBuilder()].add(condition, hit)
                }
            }
        }
        if needsAlways { always.append(pattern) }
    }

    mutating func child(_ node: Int32, _ key: String) -> Int32 {
        if let existing = nodes[Int(node)].children[key] { return existing }
        let new = Int32(nodes.count)
        nodes.append(Matcher.PathNode())
        nodes[Int(node)].children[key] = new
        return new
    }

    /// Every combination of `$or` branches as a list of leaves; nil when there are too many.
    mutating func expand(_ pattern: PatternNode, under node: Int32) -> [[Leaf]]? {
        var result: [[Leaf]] = [[]]
        for item in pattern.items {
            var options: [[Leaf]]
            switch item {
            case .field(let key, .leaf(let conditions, _)):
                options = [[(child(node, key), conditions)]]
            case .field(let key, .nested(let nested)):
                guard let expanded = expand(nested, under: child(node, key)) else { return nil }
                options = expanded
            case .or(let alternatives):
                options = []
                for alternative in alternatives {
                    guard let expanded = expand(alternative, under: node) else { return nil }
                    options += expanded
                }
            }
            guard result.count * options.count <= Matcher.maximumAlternatives else { return nil }
            result = result.flatMap { prefix in options.map { prefix + $0 } }
        }
        return result
    }

    /// The leaves outside every `$or`: they hold in every alternative.
    mutating func required(_ pattern: PatternNode, under node: Int32) -> [Leaf] {
        var result: [Leaf] = []
        for item in pattern.items {
            switch item {
            case .field(let key, .leaf(let conditions, _)): result.append((child(node, key), conditions))
            case .field(let key, .nested(let nested)): result += required(nested, under: child(node, key))
            case .or: break
            }
        }
        return result
    }

    mutating func finish() -> [Matcher.PathNode] {
        for (node, builder) in indexes { nodes[Int(node)].index = builder.build() }
        return nodes
    }
}
