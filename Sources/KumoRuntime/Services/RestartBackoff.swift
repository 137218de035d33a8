/// How long a replica waits before it is restarted: 100 ms, doubling with each restart up to
/// 1 min, and back to 100 ms once the replica has been healthy for more than 10 s. A value:
/// the supervisor passes the time in.
struct RestartBackoff: Equatable {
    static let initial: Duration = .milliseconds(100)
    static let ceiling: Duration = .seconds(60)
    static let settle: Duration = .seconds(10)

    /// The delay the next restart waits (unless the replica settles first).
    private(set) var next = RestartBackoff.initial
    private(set) var healthySince: ContinuousClock.Instant?

    /// The replica turned ready at `now` (it stays healthy until it restarts).
    mutating func healthy(at now: ContinuousClock.Instant) {
        if healthySince == nil { healthySince = now }
    }

    /// The delay before a restart at `now`; the one after it doubles.
    mutating func restart(at now: ContinuousClock.Instant) -> Duration {
        if let since = healthySince, now - since > RestartBackoff.settle { next = RestartBackoff.initial }
        healthySince = nil
        let delay = next
        next = min(next * 2, RestartBackoff.ceiling)
        return delay
    }
}
