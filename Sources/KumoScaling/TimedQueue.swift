/// Values in time order, oldest first, whose oldest leave as time passes: two arrays whose
/// front is dropped lazily (compacted once most of it is dead), so every operation costs O(1)
/// amortized however long the autoscaler or the simulation runs.
struct TimedQueue<Value: Sendable>: Sendable {
    private var times: [Int64] = []
    private var values: [Value] = []
    private var head = 0

    var isEmpty: Bool { head == times.count }
    var first: (time: Int64, value: Value)? { isEmpty ? nil : (times[head], values[head]) }
    var last: (time: Int64, value: Value)? { isEmpty ? nil : (times[times.count - 1], values[values.count - 1]) }

    mutating func append(_ value: Value, at time: Int64) {
        times.append(time)
        values.append(value)
    }

    mutating func removeLast() {
        times.removeLast()
        values.removeLast()
    }

    mutating func replaceLast(with value: Value) {
        values[values.count - 1] = value
    }

    mutating func removeFirst() {
        head += 1
        if head > 512, head * 2 > times.count {
            times.removeFirst(head)
            values.removeFirst(head)
            head = 0
        }
    }

    /// Drops the values at `cutoff` or before.
    mutating func removeFirst(through cutoff: Int64) {
        while let first, first.time <= cutoff { removeFirst() }
    }

    /// The values after `cutoff`, combined newest first.
    func reduce<Result>(after cutoff: Int64, _ initial: Result, _ combine: (Result, Value) -> Result) -> Result {
        var result = initial
        var i = times.count - 1
        while i >= head, times[i] > cutoff {
            result = combine(result, values[i])
            i -= 1
        }
        return result
    }
}

/// The lowest (or highest) of the recommendations younger than a window, as the time moves
/// forward: a monotonic queue keeping only the recommendations that can still be the answer.
struct RecommendationWindow: Sendable {
    enum Keeping: Sendable { case lowest, highest }

    let keeping: Keeping
    /// Milliseconds.
    let length: Int64
    private var kept = TimedQueue<Int>()

    init(keeping: Keeping, length: Int64) {
        self.keeping = keeping
        self.length = length
    }

    /// The lowest (highest) recommendation recorded after `now - length`, exclusive: one exactly
    /// a window old no longer counts. `now` never decreases from one call to the next.
    mutating func extreme(at now: Int64) -> Int? {
        kept.removeFirst(through: now - length)
        return kept.first?.value
    }

    /// Records a recommendation; older ones never better than it are dropped.
    mutating func record(_ value: Int, at now: Int64) {
        while let last = kept.last?.value, keeping == .lowest ? last >= value : last <= value { kept.removeLast() }
        kept.append(value, at: now)
    }
}

/// The replica changes an autoscaler made, newest last, for its rate limits: the count at the
/// start of a policy's period is the current count less the net change within the period.
struct ScaleHistory: Sendable {
    private var changes = TimedQueue<Int>()
    /// Milliseconds: a change this old counts for no policy.
    let horizon: Int64

    init(horizon: Int64) {
        self.horizon = horizon
    }

    /// The net change (added less removed) of the changes younger than `period` at `now`: a
    /// change counts while it is less than `period` old.
    func netChange(within period: Int64, at now: Int64) -> Int {
        changes.reduce(after: now - period, 0, +)
    }

    mutating func record(_ change: Int, at now: Int64) {
        guard change != 0 else { return }
        changes.removeFirst(through: now - horizon)
        changes.append(change, at: now)
    }
}
