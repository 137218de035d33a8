/// The conditions filed under one key path, indexed by the leaf values that satisfy them.
struct LeafIndex: Sendable {
    enum Key: Hashable, Sendable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    /// Strings here compare by Swift's canonical equivalence, a superset of byte equality: a hit
    /// only nominates a candidate, which the reference evaluator confirms.
    var exact: [Key: [Matcher.Hit]] = [:]
    var equalsIgnoreCase: [String: [Matcher.Hit]] = [:]
    var prefixes = AffixIndex()
    var prefixesIgnoringCase = AffixIndex()
    var suffixes = AffixIndex()
    var suffixesIgnoringCase = AffixIndex()
    var numeric = NumericIndex()
    /// Conditions tested one by one.
    var scan: [Matcher.Entry] = []

    func lookup(_ value: JSON, _ hit: (Matcher.Hit) -> Void) {
        switch value {
        case .string(let s):
            exact[.string(s)]?.forEach(hit)
            if !equalsIgnoreCase.isEmpty || !prefixesIgnoringCase.isEmpty || !suffixesIgnoringCase.isEmpty {
                let lower = s.lowercased()
                equalsIgnoreCase[lower]?.forEach(hit)
                prefixesIgnoringCase.lookup(lower, value: value, suffix: false, hit)
                suffixesIgnoringCase.lookup(lower, value: value, suffix: true, hit)
            }
            prefixes.lookup(s, value: value, suffix: false, hit)
            suffixes.lookup(s, value: value, suffix: true, hit)
        case .number(let n, _):
            exact[.number(n == 0 ? 0 : n)]?.forEach(hit)
            numeric.lookup(n, hit)
        case .bool(let b):
            exact[.bool(b)]?.forEach(hit)
        case .null:
            exact[.null]?.forEach(hit)
        case .array, .object:
            return
        }
        for entry in scan where entry.check?.accepts(value) ?? true { hit(entry.hit) }
    }
}

/// Prefixes (or suffixes) by their UTF-8 length, probed at each length present.
struct AffixIndex: Sendable {
    var byAffix: [String: [Matcher.Entry]] = [:]
    /// The distinct UTF-8 lengths of the affixes, ascending.
    var lengths: [Int] = []

    var isEmpty: Bool { lengths.isEmpty }

    mutating func add(_ affix: String, _ entry: Matcher.Entry) {
        byAffix[affix, default: []].append(entry)
        let n = affix.utf8.count
        if !lengths.contains(n) {
            lengths.append(n)
            lengths.sort()
        }
    }

    func lookup(_ s: String, value: JSON, suffix: Bool, _ hit: (Matcher.Hit) -> Void) {
        if lengths.isEmpty { return }
        let utf8 = s.utf8
        let count = utf8.count
        for length in lengths {
            if length > count { return }
            let part = suffix ? utf8.suffix(length) : utf8.prefix(length)
            // A cut inside a multi-byte character cannot equal any affix.
            guard let key = String(part), let entries = byAffix[key] else { continue }
            for entry in entries where entry.check?.accepts(value) ?? true { hit(entry.hit) }
        }
    }
}

/// Numeric ranges in a segment tree over the elementary intervals their bounds cut the line
/// into; a value's hits are found in O(log n + hits). Few ranges are kept in a list.
struct NumericIndex: Sendable {
    var ranges: [(NumericRange, Matcher.Hit)] = []
    /// The distinct bounds, ascending; slot 2i+1 is `bounds[i]` itself, slot 2i the open
    /// interval below it, slot 2n everything above the last.
    var bounds: [Double] = []
    var tree: [[Matcher.Hit]] = []
    var slots = 0

    static let listLimit = 8

    mutating func build() {
        guard ranges.count > NumericIndex.listLimit else { return }
        var points = Set<Double>()
        for (range, _) in ranges {
            if range.lower.isFinite { points.insert(range.lower) }
            if range.upper.isFinite { points.insert(range.upper) }
        }
        bounds = points.sorted()
        slots = 2 * bounds.count + 1
        tree = Array(repeating: [], count: 4 * slots)
        for (range, hit) in ranges {
            let low: Int
            if range.lower == -.infinity { low = 0 } else {
                let i = bounds.firstIndex(of: range.lower)!
                low = range.lowerInclusive ? 2 * i + 1 : 2 * i + 2
            }
            let high: Int
            if range.upper == .infinity { high = slots - 1 } else {
                let i = bounds.firstIndex(of: range.upper)!
                high = range.upperInclusive ? 2 * i + 1 : 2 * i
            }
            if low <= high { insert(hit, low, high, node: 1, from: 0, to: slots - 1) }
        }
        ranges = []
    }

    private mutating func insert(_ hit: Matcher.Hit, _ low: Int, _ high: Int, node: Int, from: Int, to: Int) {
        if low <= from && to <= high {
            tree[node].append(hit)
            return
        }
        let mid = (from + to) / 2
        if low <= mid { insert(hit, low, high, node: 2 * node, from: from, to: mid) }
        if high > mid { insert(hit, low, high, node: 2 * node + 1, from: mid + 1, to: to) }
    }

    func slot(of v: Double) -> Int {
        var lo = 0, hi = bounds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bounds[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < bounds.count && bounds[lo] == v ? 2 * lo + 1 : 2 * lo
    }

    func lookup(_ v: Double, _ hit: (Matcher.Hit) -> Void) {
        if !ranges.isEmpty {
            for (range, h) in ranges where range.contains(v) { hit(h) }
            return
        }
        guard slots > 0, !v.isNaN else { return }
        let target = slot(of: v)
        var node = 1, from = 0, to = slots - 1
        while true {
            tree[node].forEach(hit)
            if from == to { return }
            let mid = (from + to) / 2
            if target <= mid { node = 2 * node; to = mid } else { node = 2 * node + 1; from = mid + 1 }
        }
    }
}

/// Collects one path's conditions, then builds its ``LeafIndex``.
struct LeafIndexBuilder {
    var index = LeafIndex()

    /// Conditions that only a few values satisfy, found without testing each.
    static func isSelective(_ condition: Condition) -> Bool {
        switch condition {
        case .string, .number, .bool, .null, .prefix, .suffix, .equalsIgnoreCase, .numeric: true
        case .wildcard(let w): !w.literalPrefix.isEmpty || !w.literalSuffix.isEmpty
        case .anythingBut, .exists, .cidr: false
        }
    }

    mutating func add(_ condition: Condition, _ hit: Matcher.Hit) {
        switch condition {
        case .string(let s): index.exact[.string(s), default: []].append(hit)
        case .number(let n): index.exact[.number(n == 0 ? 0 : n), default: []].append(hit)
        case .bool(let b): index.exact[.bool(b), default: []].append(hit)
        case .null: index.exact[.null, default: []].append(hit)
        case .prefix(let p, false): index.prefixes.add(p, Matcher.Entry(hit: hit))
        case .prefix(let p, true): index.prefixesIgnoringCase.add(p, Matcher.Entry(hit: hit))
        case .suffix(let p, false): index.suffixes.add(p, Matcher.Entry(hit: hit))
        case .suffix(let p, true): index.suffixesIgnoringCase.add(p, Matcher.Entry(hit: hit))
        case .equalsIgnoreCase(let s): index.equalsIgnoreCase[s, default: []].append(hit)
        case .numeric(let range): index.numeric.ranges.append((range, hit))
        case .wildcard(let w) where !w.hasStar:
            index.exact[.string(String(decoding: w.literalPrefix, as: UTF8.self)), default: []].append(hit)
        case .wildcard(let w) where !w.literalPrefix.isEmpty:
            index.prefixes.add(String(decoding: w.literalPrefix, as: UTF8.self), Matcher.Entry(hit: hit, check: condition))
        case .wildcard(let w) where !w.literalSuffix.isEmpty:
            index.suffixes.add(String(decoding: w.literalSuffix, as: UTF8.self), Matcher.Entry(hit: hit, check: condition))
        case .exists(false):
            // Satisfied by absence: never counted (the builder leaves such fields out).
            break
        default:
            index.scan.append(Matcher.Entry(hit: hit, check: condition))
        }
    }

    func build() -> LeafIndex {
        var index = index
        index.numeric.build()
        return index
    }
}

extension Matcher.Entry {
    init(hit: Matcher.Hit) { self.init(hit: hit, check: nil) }
}
