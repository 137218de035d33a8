/// Slots of a buffer that concurrent workers fill, each worker writing only its own index.
struct DisjointSlots<Element>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
    subscript(index: Int) -> Element {
        get { buffer[index] }
        nonmutating set { buffer[index] = newValue }
    }

    /// The uninitialized slots of `range`, for one worker to fill in order.
    func output(for range: Range<Int>) -> ParallelOutput<Element> {
        ParallelOutput(base: buffer.baseAddress! + range.lowerBound, capacity: range.count)
    }
}

/// The part of a shared buffer one worker fills, in order from its start (see
/// ``ProjectAssembler/inParallel(_:minimum:filling:_:)``).
struct ParallelOutput<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let capacity: Int
    var count = 0

    init(base: UnsafeMutablePointer<Element>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    mutating func append(_ element: consuming Element) {
        precondition(count < capacity, "more elements than indices")
        (base + count).initialize(to: element)
        count += 1
    }
}
