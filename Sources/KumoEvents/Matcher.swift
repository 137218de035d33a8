/// Many rules' patterns compiled into one machine: the cost of matching grows with the event,
/// not with the number of patterns.
///
/// Each pattern expands into alternatives (one per combination of `$or` branches), each a list of
/// leaf fields at flattened key paths. Only the paths the machine indexes form a trie that the
/// event is walked against, so every other field is skipped whole.
///
/// - An alternative with fields that take exact values or prefixes (the usual `source`,
///   `detail-type`) is filed in a chain trie, in the spirit of aws/event-ruler's state machine:
///   one step per such field, in a fixed path order, each step a hash map from value (or prefix)
///   to the next state. An event
///   follows only the steps its own values open, so the work is the same for 10 rules or 10,000
///   that share few values with it.
/// - Any other alternative is counted: at each path an index maps a leaf value to the
///   (alternative, field) conditions it satisfies (a hash map for `equals-ignore-case`, maps of
///   prefixes and suffixes probed at the few lengths present, a segment tree for numeric
///   ranges, a short list for the rest), and an alternative whose counted fields were all hit is
///   nominated. The counted fields are the selective ones when there are any, else those a
///   present value can satisfy; an alternative with neither (only `exists: false`) is tried on
///   every event.
///
/// Nominated patterns are confirmed with the reference evaluator (``Pattern/matches(_:)``), which
/// settles the remaining fields, `exists: false`, and the consistency of fields within one list
/// element.
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
        /// The children again, as a list for nodes with few of them: comparing an event's key's
        /// length and bytes with a handful of names is cheaper than hashing it.
        var few: [(key: String, node: Int32)]?
        var index: LeafIndex?
        /// The path's id in chain steps, when a chain steps on it.
        var anchor: Int32 = -1
    }

    /// A state of the chain trie: the patterns whose chained fields all hold once here, and the
    /// steps onward, one per path.
    struct ChainNode: Sendable {
        var patterns: [Int32] = []
        var steps: [ChainStep] = []
    }

    /// The states a value at one path leads to: by exact value, or by prefix (probed at each
    /// prefix length present).
    struct ChainStep: Sendable {
        var anchor: Int32
        var exact: [LeafIndex.Key: Int32] = [:]
        var prefixes: [String: Int32] = [:]
        var prefixLengths: [Int] = []
    }

    let patterns: [(id: Int, pattern: Pattern)]
    let alternatives: [Alternative]
    let nodes: [PathNode]
    let chains: [ChainNode]
    /// Patterns with an alternative that has no countable field.
    let always: [Int32]

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
        self.chains = builder.chains
        self.nodes = builder.finish()
    }

    /// Per-event scratch: counted hits and the exact values seen on chain paths.
    struct Scratch {
        var masks: [Int32: UInt64] = [:]
        var anchored: [(anchor: Int32, key: LeafIndex.Key)] = []
    }

    /// The ids of the patterns the event matches, ascending.
    public func matches(_ event: JSON) -> [Int] {
        var scratch = Scratch()
        walk(0, event, &scratch)
        var candidates: [Int32] = always
        for (alternative, mask) in scratch.masks where mask == alternatives[Int(alternative)].fullMask {
            candidates.append(alternatives[Int(alternative)].pattern)
        }
        if chains.count > 1 && !scratch.anchored.isEmpty { follow(0, scratch.anchored, &candidates) }
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

    private func follow(_ state: Int, _ anchored: [(anchor: Int32, key: LeafIndex.Key)], _ candidates: inout [Int32]) {
        let node = chains[state]
        candidates += node.patterns
        for step in node.steps {
            for value in anchored where value.anchor == step.anchor {
                if let next = step.exact[value.key] { follow(Int(next), anchored, &candidates) }
                guard !step.prefixLengths.isEmpty, case .string(let s) = value.key else { continue }
                let utf8 = s.utf8
                for length in step.prefixLengths {
                    if length > utf8.count { break }
                    if let prefix = String(utf8.prefix(length)), let next = step.prefixes[prefix] { follow(Int(next), anchored, &candidates) }
                }
            }
        }
    }

    private func walk(_ node: Int, _ value: JSON, _ scratch: inout Scratch) {
        switch value {
        case .object(let pairs):
            if let few = nodes[node].few {
                if few.isEmpty { return }
                for pair in pairs {
                    for child in few where Bytes.equal(child.key, pair.key) {
                        walk(Int(child.node), pair.value, &scratch)
                        break
                    }
                }
                return
            }
            let children = nodes[node].children
            for pair in pairs {
                if let child = children[pair.key] { walk(Int(child), pair.value, &scratch) }
            }
        case .array(let items):
            for item in items { walk(node, item, &scratch) }
        default:
            let anchor = nodes[node].anchor
            if anchor >= 0, let key = LeafIndex.Key(value) { scratch.anchored.append((anchor, key)) }
            if nodes[node].index != nil {
                nodes[node].index!.lookup(value) { hit in scratch.masks[hit.alternative, default: 0] |= 1 << UInt64(hit.bit) }
            }
        }
    }
}

/// Expands patterns into alternatives and files their conditions under key paths.
struct MatcherBuilder {
    var alternatives: [Matcher.Alternative] = []
    var always: [Int32] = []
    var nodes: [Matcher.PathNode] = [Matcher.PathNode()]
    var chains: [Matcher.ChainNode] = [Matcher.ChainNode()]
    var indexes: [Int32: LeafIndexBuilder] = [:]
    var anchors = 0

    /// A leaf field of an alternative: its key path and its conditions.
    typealias Leaf = (path: [String], conditions: [Condition])

    /// A chain follows at most this many combinations of an alternative's exact values (a field
    /// listing several values multiplies them); further exact fields are left to the evaluator.
    static let maximumChainFanOut = 16

    mutating func add(_ root: PatternNode, pattern: Int32) {
        var expansions = MatcherBuilder.expand(root, at: [])
        if expansions == nil || expansions!.count > Matcher.maximumAlternatives {
            expansions = [MatcherBuilder.required(root, at: [])]
        }
        var needsAlways = false
        for leaves in expansions! {
            let chained = leaves.filter { $0.conditions.allSatisfy { ChainKey($0) != nil } }
            if !chained.isEmpty {
                addChain(chained, pattern: pattern)
                continue
            }
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
                let node = self.node(leaf.path)
                for condition in leaf.conditions {
                    indexes[node, default: LeafIndexBuilder()].add(condition, hit)
                }
            }
        }
        if needsAlways { always.append(pattern) }
    }

    /// A chain step's label: an exact value or a (case-sensitive) prefix.
    enum ChainKey: Hashable {
        case exact(LeafIndex.Key)
        case prefix(String)

        init?(_ condition: Condition) {
            if let key = LeafIndex.Key(condition) {
                self = .exact(key)
            } else if case .prefix(let p, ignoreCase: false) = condition {
                self = .prefix(p)
            } else {
                return nil
            }
        }
    }

    /// Files an alternative under each combination of its chained fields' values, stepping
    /// through the fields in the order of their paths' anchor ids.
    mutating func addChain(_ fields: [Leaf], pattern: Int32) {
        var steps = fields.map { (anchor: anchor(node($0.path)), keys: $0.conditions.compactMap(ChainKey.init)) }
        steps.sort { $0.anchor < $1.anchor }
        var fanOut = 1
        var states: [Int32] = [0]
        for step in steps {
            guard fanOut * step.keys.count <= MatcherBuilder.maximumChainFanOut || states == [0] else { break }
            fanOut *= step.keys.count
            var next: [Int32] = []
            for state in states {
                for key in step.keys { next.append(chainStep(from: state, anchor: step.anchor, key: key)) }
            }
            states = next
        }
        for state in Set(states) { chains[Int(state)].patterns.append(pattern) }
    }

    mutating func chainStep(from state: Int32, anchor: Int32, key: ChainKey) -> Int32 {
        let s = Int(state)
        let i = chains[s].steps.firstIndex { $0.anchor == anchor } ?? {
            chains[s].steps.append(Matcher.ChainStep(anchor: anchor))
            return chains[s].steps.count - 1
        }()
        let new = Int32(chains.count)
        switch key {
        case .exact(let value):
            if let existing = chains[s].steps[i].exact[value] { return existing }
            chains[s].steps[i].exact[value] = new
        case .prefix(let prefix):
            if let existing = chains[s].steps[i].prefixes[prefix] { return existing }
            chains[s].steps[i].prefixes[prefix] = new
            let length = prefix.utf8.count
            if !chains[s].steps[i].prefixLengths.contains(length) {
                chains[s].steps[i].prefixLengths.append(length)
                chains[s].steps[i].prefixLengths.sort()
            }
        }
        chains.append(Matcher.ChainNode())
        return new
    }

    mutating func anchor(_ node: Int32) -> Int32 {
        if nodes[Int(node)].anchor < 0 {
            nodes[Int(node)].anchor = Int32(anchors)
            anchors += 1
        }
        return nodes[Int(node)].anchor
    }

    /// The trie node of a key path, created as needed.
    mutating func node(_ path: [String]) -> Int32 {
        var node: Int32 = 0
        for key in path {
            if let existing = nodes[Int(node)].children[key] {
                node = existing
            } else {
                let new = Int32(nodes.count)
                nodes.append(Matcher.PathNode())
                nodes[Int(node)].children[key] = new
                node = new
            }
        }
        return node
    }

    /// Every combination of `$or` branches as a list of leaves; nil when there are too many.
    static func expand(_ pattern: PatternNode, at path: [String]) -> [[Leaf]]? {
        var result: [[Leaf]] = [[]]
        for item in pattern.items {
            var options: [[Leaf]]
            switch item {
            case .field(let key, .leaf(let conditions, _)):
                options = [[(path + [key], conditions)]]
            case .field(let key, .nested(let nested)):
                guard let expanded = expand(nested, at: path + [key]) else { return nil }
                options = expanded
            case .or(let alternatives):
                options = []
                for alternative in alternatives {
                    guard let expanded = expand(alternative, at: path) else { return nil }
                    options += expanded
                }
            }
            guard result.count * options.count <= Matcher.maximumAlternatives else { return nil }
            result = result.flatMap { prefix in options.map { prefix + $0 } }
        }
        return result
    }

    /// The leaves outside every `$or`: they hold in every alternative.
    static func required(_ pattern: PatternNode, at path: [String]) -> [Leaf] {
        var result: [Leaf] = []
        for item in pattern.items {
            switch item {
            case .field(let key, .leaf(let conditions, _)): result.append((path + [key], conditions))
            case .field(let key, .nested(let nested)): result += required(nested, at: path + [key])
            case .or: break
            }
        }
        return result
    }

    /// Up to this many children are compared in turn rather than hashed.
    static let fewChildren = 12

    mutating func finish() -> [Matcher.PathNode] {
        for (node, builder) in indexes { nodes[Int(node)].index = builder.build() }
        for i in nodes.indices where nodes[i].children.count <= MatcherBuilder.fewChildren {
            nodes[i].few = nodes[i].children.map { (key: $0.key, node: $0.value) }.sorted { $0.node < $1.node }
        }
        return nodes
    }
}

extension LeafIndex.Key {
    /// The key of an exact-value condition.
    init?(_ condition: Condition) {
        switch condition {
        case .string(let s): self = .string(s)
        case .number(let n): self = .number(n == 0 ? 0 : n)
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        default: return nil
        }
    }

    /// The key of a leaf value.
    init?(_ value: JSON) {
        switch value {
        case .string(let s): self = .string(s)
        case .number(let n, _): self = .number(n == 0 ? 0 : n)
        case .bool(let b): self = .bool(b)
        case .null: self = .null
        case .array, .object: return nil
        }
    }
}
