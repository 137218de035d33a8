/// A pattern object compiled: its fields and `$or` groups in the order written.
///
/// Matching (the reference semantics, after aws/event-ruler's `rulesForJSONEvent`):
/// - a field's matcher list holds if any of its conditions accepts any leaf value at that key
///   (lists in the event are flattened; objects are not leaves);
/// - `exists: true` wants at least one leaf value there, `exists: false` none (so a key holding an
///   object, an empty list or nothing at all "does not exist");
/// - a nested pattern applied to a list in the event must hold within one element: the fields of
///   one sub-pattern may not be satisfied by different elements;
/// - every `$or` group needs one alternative that holds on the same object.
struct PatternNode: Sendable {
    enum Item: Sendable {
        case field(key: String, Field)
        case or([PatternNode])
    }

    enum Field: Sendable {
        case nested(PatternNode)
        /// The conditions, and the matcher list as written (for explanations).
        case leaf([Condition], source: JSON)
    }

    var items: [Item]

    /// Whether the node holds on a value (nil when the key is missing).
    func matches(_ value: JSON?) -> Bool {
        switch value {
        case .array(let elements)?:
            if elements.isEmpty { return matches(object: nil) }
            return elements.contains { matches($0) }
        case .object(let pairs)?:
            return matches(object: pairs)
        default:
            return matches(object: nil)
        }
    }

    func matches(object: [(key: String, value: JSON)]?) -> Bool {
        for item in items {
            switch item {
            case .field(let key, .nested(let node)):
                if !node.matches(PatternNode.lookup(key, in: object)) { return false }
            case .field(let key, .leaf(let conditions, _)):
                if !PatternNode.leafMatches(conditions, PatternNode.lookup(key, in: object)) { return false }
            case .or(let alternatives):
                if !alternatives.contains(where: { $0.matches(object: object) }) { return false }
            }
        }
        return true
    }

    /// The first value under a key whose bytes equal `key`.
    static func lookup(_ key: String, in object: [(key: String, value: JSON)]?) -> JSON? {
        guard let object else { return nil }
        for pair in object where Bytes.equal(pair.key, key) { return pair.value }
        return nil
    }

    static func leafMatches(_ conditions: [Condition], _ value: JSON?) -> Bool {
        for condition in conditions {
            if case .exists(let wanted) = condition {
                if hasLeaf(value) == wanted { return true }
            } else if anyLeaf(value, condition.accepts) {
                return true
            }
        }
        return false
    }

    static func hasLeaf(_ value: JSON?) -> Bool { anyLeaf(value) { _ in true } }

    /// Whether any leaf value (lists flattened, objects skipped) satisfies `test`.
    static func anyLeaf(_ value: JSON?, _ test: (JSON) -> Bool) -> Bool {
        switch value {
        case nil, .object?: return false
        case .array(let items)?: return items.contains { anyLeaf($0, test) }
        case let leaf?: return test(leaf)
        }
    }
}

// MARK: - Explanations

extension PatternNode {
    /// Why the node fails on a value, with how many fields held before it (to pick the
    /// alternative or list element that got furthest).
    func explain(_ value: JSON?, at path: [PathComponent]) -> (mismatch: Mismatch, progress: Int)? {
        if case .array(let elements)? = value, !elements.isEmpty {
            var best: (mismatch: Mismatch, progress: Int)?
            for (i, element) in elements.enumerated() {
                guard let failure = explain(element, at: path + [.index(i)]) else { return nil }
                if best == nil || failure.progress > best!.progress { best = failure }
            }
            return best
        }
        var object: [(key: String, value: JSON)]?
        if case .object(let pairs)? = value { object = pairs }
        var progress = 0
        for item in items {
            switch item {
            case .field(let key, .nested(let node)):
                if let failure = node.explain(PatternNode.lookup(key, in: object), at: path + [.key(key)]) {
                    return (failure.mismatch, progress + failure.progress)
                }
                progress += node.items.count
            case .field(let key, .leaf(let conditions, let source)):
                let child = PatternNode.lookup(key, in: object)
                if !PatternNode.leafMatches(conditions, child) {
                    let mismatch = Mismatch(path: PathComponent.dotted(path + [.key(key)]), expected: source.compactText, actual: child?.compactText)
                    return (mismatch, progress)
                }
                progress += 1
            case .or(let alternatives):
                var best: (mismatch: Mismatch, progress: Int)?
                for alternative in alternatives {
                    guard let failure = alternative.explain(object.map(JSON.object), at: path) else { best = nil; break }
                    if best == nil || failure.progress > best!.progress { best = failure }
                }
                if let best { return (best.mismatch, progress + best.progress) }
                progress += 1
            }
        }
        return nil
    }
}
