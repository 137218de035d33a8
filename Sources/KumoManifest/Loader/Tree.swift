#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The nodes of parsed YAML, stored flat: one record per node, children as runs of 32-bit
/// indices, scalar text as byte ranges of one buffer.
///
/// A parse allocates a handful of growing buffers instead of an array per collection and a
/// string per scalar, and reading a node is an index into a buffer (see ``NodeRef``). A child
/// may also be a node of another tree, through the tree's small table of foreign references:
/// the two-core parse joins its pieces that way, and a resource's mappings merged with
/// `defaults` are a small tree over the resource's own nodes.
///
/// A tree is filled by one builder and is immutable once shared: it is then safe to read from
/// any thread. While it is being filled its buffers may move, so views of it (``NodeRef/Pairs``,
/// ``ScalarRef/bytes``) are taken only after the appends they depend on. It keeps alive the
/// trees its children point into (``retain(_:)``). Its nodes all come from one file; counts
/// and offsets are 32-bit, far above the file size limit.
final class Tree: @unchecked Sendable {
    /// One node. For a scalar, `start`/`count` are its text's byte range in the text buffer; for
    /// a collection, its run of children (a mapping's run holds key, value, key, value, …) and
    /// the number of items or pairs.
    struct Record {
        enum Kind: UInt8 { case scalar, mapping, sequence }
        /// The node's source range, in the tree's file.
        var startMark: Mark
        var endMark: Mark
        var start: Int32
        var count: Int32
        var kind: Kind
        var style: Scalar.Style = .plain
        var tag: Scalar.Tag?

        init(range: SourceRange, start: Int32, count: Int32, kind: Kind, style: Scalar.Style = .plain, tag: Scalar.Tag? = nil) {
            self.startMark = range.start
            self.endMark = range.end
            self.start = start
            self.count = count
            self.kind = kind
            self.style = style
            self.tag = tag
        }
    }

    /// The tree's buffers. It stays at one address for the tree's life (the buffers it points
    /// to move as they grow), so a ``NodeRef`` can point at it and read without reference
    /// counting.
    ///
    /// A child is the index of a record of this tree, or, when negative (`~i`), entry `i` of
    /// `foreign`: a node of another tree.
    struct Storage {
        fileprivate(set) var records: UnsafeMutablePointer<Record>
        fileprivate(set) var recordCount = 0
        fileprivate var recordCapacity: Int
        fileprivate(set) var children: UnsafeMutablePointer<Int32>
        fileprivate(set) var childCount = 0
        fileprivate var childCapacity: Int
        fileprivate(set) var foreign: UnsafeMutablePointer<NodeRef>
        fileprivate(set) var foreignCount = 0
        fileprivate var foreignCapacity = 4
        fileprivate(set) var text: UnsafeMutablePointer<UInt8>
        fileprivate(set) var textCount = 0
        fileprivate var textCapacity: Int
        /// The file of every node of the tree, known from the first one.
        fileprivate(set) var file = SourceFileID.synthetic
        fileprivate var hasFile = false
    }

    let storage: UnsafeMutablePointer<Storage>
    /// Trees that children of this one point into.
    private var retained: [Tree] = []

    /// `expectedBytes` sizes the buffers for a parse of that much YAML (they grow as needed).
    init(expectedBytes: Int = 0) {
        let records = max(4, expectedBytes / 6)
        let children = max(8, expectedBytes / 6)
        let text = max(16, expectedBytes / 2)
        storage = .allocate(capacity: 1)
        storage.initialize(to: Storage(
            records: .allocate(capacity: records), recordCapacity: records,
            children: .allocate(capacity: children), childCapacity: children,
            foreign: .allocate(capacity: 4),
            text: .allocate(capacity: text), textCapacity: text))
    }

    deinit {
        let s = storage.pointee
        s.records.deinitialize(count: s.recordCount)
        s.records.deallocate()
        s.children.deallocate()
        s.foreign.deinitialize(count: s.foreignCount)
        s.foreign.deallocate()
        s.text.deallocate()
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Keeps `other` alive as long as this tree: its nodes are children here.
    func retain(_ other: Tree) {
        if other !== self && !retained.contains(where: { $0 === other }) { retained.append(other) }
    }

    // MARK: Building

    /// Forgets every node, keeping the buffers (for a scratch tree that no one else reads).
    func removeAll() {
        storage.pointee.records.deinitialize(count: storage.pointee.recordCount)
        storage.pointee.recordCount = 0
        storage.pointee.childCount = 0
        storage.pointee.foreign.deinitialize(count: storage.pointee.foreignCount)
        storage.pointee.foreignCount = 0
        storage.pointee.textCount = 0
        storage.pointee.hasFile = false
    }

    /// Appends a node of `file`: every node of a tree comes from one file.
    func append(_ record: Record, file: SourceFileID) -> NodeRef {
        if !storage.pointee.hasFile {
            storage.pointee.file = file
            storage.pointee.hasFile = true
        }
        precondition(file == storage.pointee.file, "a tree holds the nodes of one file")
        return storage.pointee.append(record, in: storage)
    }

    /// Appends a scalar whose text is `bytes` (copied).
    func appendScalar(_ bytes: UnsafeRawBufferPointer, style: Scalar.Style, tag: Scalar.Tag?, range: SourceRange) -> NodeRef {
        let start = storage.pointee.appendText(bytes)
        return append(Record(range: range, start: start, count: Int32(bytes.count), kind: .scalar, style: style, tag: tag), file: range.file)
    }

    func appendMapping(_ pairs: some Collection<NodeRef>, range: SourceRange) -> NodeRef {
        let start = storage.pointee.appendChildren(pairs, in: storage)
        return append(Record(range: range, start: start, count: Int32(pairs.count / 2), kind: .mapping), file: range.file)
    }

    func appendSequence(_ items: some Collection<NodeRef>, range: SourceRange) -> NodeRef {
        let start = storage.pointee.appendChildren(items, in: storage)
        return append(Record(range: range, start: start, count: Int32(items.count), kind: .sequence), file: range.file)
    }
}

extension Tree.Storage {
    mutating func append(_ record: Tree.Record, in storage: UnsafeMutablePointer<Tree.Storage>) -> NodeRef {
        if recordCount == recordCapacity { Tree.Storage.grow(&records, count: recordCount, capacity: &recordCapacity, to: recordCount + 1) }
        (records + recordCount).initialize(to: record)
        recordCount += 1
        return NodeRef(storage: storage, index: Int32(recordCount - 1))
    }

    mutating func appendText(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        if textCount + bytes.count > textCapacity { Tree.Storage.grow(&text, count: textCount, capacity: &textCapacity, to: textCount + bytes.count) }
        if let base = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(text + textCount).copyMemory(from: base, byteCount: bytes.count)
        }
        textCount += bytes.count
        return Int32(textCount - bytes.count)
    }

    /// Appends a run of children (`storage` is this storage's address); returns where it starts.
    mutating func appendChildren(_ nodes: some Collection<NodeRef>, in storage: UnsafeMutablePointer<Tree.Storage>) -> Int32 {
        let start = childCount
        if childCount + nodes.count > childCapacity { Tree.Storage.grow(&children, count: childCount, capacity: &childCapacity, to: childCount + nodes.count) }
        for node in nodes {
            let entry: Int32
            if node.storage == storage {
                entry = node.index
            } else {
                if foreignCount == foreignCapacity { Tree.Storage.grow(&foreign, count: foreignCount, capacity: &foreignCapacity, to: foreignCount + 1) }
                (foreign + foreignCount).initialize(to: node)
                foreignCount += 1
                entry = ~Int32(foreignCount - 1)
            }
            (children + childCount).initialize(to: entry)
            childCount += 1
        }
        return Int32(start)
    }

    static func grow<T>(_ buffer: inout UnsafeMutablePointer<T>, count: Int, capacity: inout Int, to minimum: Int) {
        let old = buffer
        capacity = max(capacity * 2, minimum)
        buffer = .allocate(capacity: capacity)
        buffer.moveInitialize(from: old, count: count)
        old.deallocate()
    }
}

/// A node of a ``Tree``, for reading: an index and the storage of the tree it belongs to.
///
/// Copying or reading one costs no reference counting: it points at the tree's storage
/// without owning it. A `NodeRef` is valid while its tree lives; the loader keeps every tree
/// of a load alive (``Node`` holds its tree strongly, a reader its overlay), so references
/// taken while loading and validating stay valid throughout.
struct NodeRef: @unchecked Sendable {
    let storage: UnsafeMutablePointer<Tree.Storage>
    let index: Int32

    init(storage: UnsafeMutablePointer<Tree.Storage>, index: Int32) {
        self.storage = storage
        self.index = index
    }

    enum Kind {
        case scalar(ScalarRef)
        case mapping(Pairs)
        case sequence(Items)
    }

    /// A key-value entry of a mapping.
    struct Pair: @unchecked Sendable {
        var key: NodeRef
        var value: NodeRef
    }

    /// A mapping's pairs, in source order.
    struct Pairs: RandomAccessCollection, @unchecked Sendable {
        let storage: UnsafeMutablePointer<Tree.Storage>?
        let base: UnsafePointer<Int32>?
        let count: Int
        static var empty: Pairs { Pairs(storage: nil, base: nil, count: 0) }
        var startIndex: Int { 0 }
        var endIndex: Int { count }
        subscript(position: Int) -> Pair {
            precondition(position >= 0 && position < count, "pair index out of range")
            return Pair(key: NodeRef.child(storage!, base![2 * position]), value: NodeRef.child(storage!, base![2 * position + 1]))
        }
    }

    /// A list's items, in source order.
    struct Items: RandomAccessCollection, @unchecked Sendable {
        let storage: UnsafeMutablePointer<Tree.Storage>?
        let base: UnsafePointer<Int32>?
        let count: Int
        static var empty: Items { Items(storage: nil, base: nil, count: 0) }
        var startIndex: Int { 0 }
        var endIndex: Int { count }
        subscript(position: Int) -> NodeRef {
            precondition(position >= 0 && position < count, "item index out of range")
            return NodeRef.child(storage!, base![position])
        }
    }

    /// The node a child entry of `storage` names (see ``Tree/Storage``).
    @inline(__always)
    static func child(_ storage: UnsafeMutablePointer<Tree.Storage>, _ entry: Int32) -> NodeRef {
        entry >= 0 ? NodeRef(storage: storage, index: entry) : storage.pointee.foreign[Int(~entry)]
    }

    @inline(__always)
    var record: Tree.Record { storage.pointee.records[Int(index)] }

    /// Changes this node's record (only while its tree is being built).
    func update(_ change: (inout Tree.Record) -> Void) {
        change(&storage.pointee.records[Int(index)])
    }

    var range: SourceRange {
        let r = record
        return SourceRange(file: storage.pointee.file, start: r.startMark, end: r.endMark)
    }

    var kind: Kind {
        let r = record
        switch r.kind {
        case .scalar: return .scalar(ScalarRef(text: storage.pointee.text, record: r))
        case .mapping: return .mapping(Pairs(storage: storage, base: UnsafePointer(storage.pointee.children + Int(r.start)), count: Int(r.count)))
        case .sequence: return .sequence(Items(storage: storage, base: UnsafePointer(storage.pointee.children + Int(r.start)), count: Int(r.count)))
        }
    }

    var scalar: ScalarRef? {
        let r = record
        return r.kind == .scalar ? ScalarRef(text: storage.pointee.text, record: r) : nil
    }

    var pairs: Pairs? {
        let r = record
        return r.kind == .mapping ? Pairs(storage: storage, base: UnsafePointer(storage.pointee.children + Int(r.start)), count: Int(r.count)) : nil
    }

    var items: Items? {
        let r = record
        return r.kind == .sequence ? Items(storage: storage, base: UnsafePointer(storage.pointee.children + Int(r.start)), count: Int(r.count)) : nil
    }

    var isMapping: Bool { record.kind == .mapping }

    /// True for an empty plain scalar, `~` or `null` without a tag: YAML's null.
    var isNull: Bool { scalar?.isNull ?? false }

    /// The value for a scalar key in a mapping, if any.
    subscript(key: String) -> NodeRef? {
        guard let pairs else { return nil }
        for pair in pairs where pair.key.scalar?.equals(key) == true { return pair.value }
        return nil
    }

    /// A short description of the node's type for "expected …, got …" messages.
    var typeDescription: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s):
            if s.isNull { return "null" }
            if s.style != .plain { return "the string \"\(s.text.truncatedForMessage)\"" }
            return "'\(s.text.truncatedForMessage)'"
        }
    }
}

extension [NodeRef] {
    /// Appends a pair as its key and value (the layout of a mapping's children).
    mutating func append(_ pair: NodeRef.Pair) {
        append(pair.key)
        append(pair.value)
    }
}

/// A scalar of a ``Tree``: its text stays bytes until a reader asks for a `String`.
struct ScalarRef: @unchecked Sendable {
    /// The text's bytes, valid while the tree lives.
    let bytes: UnsafeBufferPointer<UInt8>
    let style: Scalar.Style
    let tag: Scalar.Tag?

    init(text: UnsafeMutablePointer<UInt8>, record: Tree.Record) {
        bytes = UnsafeBufferPointer(start: text + Int(record.start), count: Int(record.count))
        style = record.style
        tag = record.tag
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Whether the text is exactly `string`, compared as bytes.
    @inline(__always)
    func equals(_ string: String) -> Bool {
        guard string.utf8.count == bytes.count else { return false }
        var string = string
        return string.withUTF8 { ScalarRef.same($0, bytes) }
    }

    @inline(__always)
    static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0 else { return true }
        // Keys of one mapping mostly differ in their first byte: skip the call then.
        return a[0] == b[0] && memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }

    func hasPrefix(_ a: UInt8, _ b: UInt8) -> Bool {
        bytes.count >= 2 && bytes[0] == a && bytes[1] == b
    }

    func contains(_ byte: UInt8) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return false }
        return memchr(base, Int32(byte), bytes.count) != nil
    }

    var isNull: Bool {
        if let tag { return tag == .null }
        guard style == .plain else { return false }
        switch bytes.count {
        case 0: return true
        case 1: return bytes[0] == UInt8(ascii: "~")
        case 4: return equals("null") || equals("Null") || equals("NULL")
        default: return false
        }
    }

    var scalar: Scalar { Scalar(text: text, style: style, tag: tag) }
}
