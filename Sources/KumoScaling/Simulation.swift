import KumoManifest

/// A scaling policy replayed against a load trace, one sample at a time, through the same
/// ``Autoscaler`` the live loop uses.
///
/// The policy is evaluated at the first sample's time t₀ and every `interval` after it up to the
/// last sample's time, each evaluation seeing the last sample at or before it. Replicas added
/// serve (count as capacity) `startup` after the decision; removed ones stop at once, those
/// still starting first. Between events the simulation integrates exactly:
/// - replica-seconds: the decided count over time (a starting replica is paid for);
/// - seconds over capacity: the time the load exceeds what the ready replicas serve, each
///   serving ``ScalingPolicy/replicaCapacity`` (the target per replica for target tracking,
///   maxLoad / maxReplicas for linear).
public struct Simulation: Sendable {
    public struct Options: Sendable, Equatable {
        /// Time between evaluations; more than 0.
        public var interval: Duration
        /// Replicas running at t₀ (nil: the policy's minReplicas, zero included).
        public var initialReplicas: Int?
        /// Time from a scale-up to the new replicas serving.
        public var startup: Duration
        /// Dollars per replica-hour, for ``Summary/cost``.
        public var pricePerReplicaHour: Double
        /// Keep every step (for tables, JSON and charts); summaries alone need none.
        public var keepsSteps: Bool

        public init(interval: Duration = .seconds(15), initialReplicas: Int? = nil, startup: Duration = Duration(milliseconds: 0),
                    pricePerReplicaHour: Double = 0, keepsSteps: Bool = true) {
            self.interval = interval
            self.initialReplicas = initialReplicas
            self.startup = startup
            self.pricePerReplicaHour = pricePerReplicaHour
            self.keepsSteps = keepsSteps
        }
    }

    /// One evaluation.
    public struct Step: Sendable, Equatable {
        /// Milliseconds on the trace's time axis.
        public var time: Int64
        /// The load the evaluation saw.
        public var load: Double
        public var recommendation: Int
        /// The count after the evaluation.
        public var replicas: Int
        /// Replicas serving right after the evaluation: removed ones have stopped, added ones are
        /// still starting (unless the startup is 0).
        public var ready: Int
        public var reason: Decision.Reason
    }

    public struct Summary: Sendable, Equatable {
        public var peakReplicas: Int
        public var replicaSeconds: Double
        /// replica-seconds / 3600 × the price per replica-hour.
        public var cost: Double
        public var secondsOverCapacity: Double
        /// Evaluations that changed the count.
        public var scaleEvents: Int
        /// The trace's span: last sample time − first.
        public var seconds: Double

        public init(peakReplicas: Int, replicaSeconds: Double, cost: Double, secondsOverCapacity: Double, scaleEvents: Int, seconds: Double) {
            self.peakReplicas = peakReplicas
            self.replicaSeconds = replicaSeconds
            self.cost = cost
            self.secondsOverCapacity = secondsOverCapacity
            self.scaleEvents = scaleEvents
            self.seconds = seconds
        }
    }

    /// A simulation refuses traces that would take more evaluations than this.
    public static let maximumSteps = 3_000_000

    public let policy: ScalingPolicy
    public let options: Options
    public private(set) var steps: [Step] = []
    private var autoscaler: Autoscaler
    private let capacity: Double

    private var origin: Int64?
    private var now: Int64 = 0
    private var last: Int64 = 0
    private var nextEvaluation: Int64 = 0
    private var load = 0.0
    private var replicas: Int
    private var ready: Int
    /// Scale-ups not serving yet: how many, at the time they will.
    private var starting = TimedQueue<Int>()
    private var replicaMilliseconds = 0.0
    private var overMilliseconds: Int64 = 0
    private var peak: Int
    private var scaleEvents = 0

    public init(policy: ScalingPolicy, options: Options) {
        precondition(options.interval.milliseconds > 0, "the interval must be positive")
        self.policy = policy
        self.options = options
        autoscaler = Autoscaler(policy: policy)
        capacity = policy.replicaCapacity
        replicas = max(0, options.initialReplicas ?? policy.minReplicas)
        ready = replicas
        peak = replicas
    }

    /// Takes the next sample (times never decrease: ``TraceParser`` checks it), first running
    /// the evaluations due before it.
    public mutating func add(_ sample: TraceSample) throws(SimulationError) {
        guard let origin else {
            origin = sample.time
            now = sample.time
            last = sample.time
            nextEvaluation = sample.time
            load = sample.load
            return
        }
        let span = sample.time - origin
        guard span / options.interval.milliseconds < Int64(Self.maximumSteps) else {
            throw SimulationError(span: Duration(milliseconds: span), interval: options.interval)
        }
        // An evaluation at the sample's own time waits: a later line may repeat the time.
        while nextEvaluation < sample.time { evaluate() }
        advance(to: sample.time)
        load = sample.load
        last = sample.time
    }

    /// Runs the evaluations left up to the last sample's time, and sums up.
    public mutating func finish() -> Summary {
        if origin != nil {
            while nextEvaluation <= last { evaluate() }
            advance(to: last)
        }
        return Summary(
            peakReplicas: peak, replicaSeconds: replicaMilliseconds / 1000,
            cost: replicaMilliseconds * options.pricePerReplicaHour / 3_600_000,
            secondsOverCapacity: Double(overMilliseconds) / 1000, scaleEvents: scaleEvents,
            seconds: Double(last - (origin ?? last)) / 1000)
    }

    private mutating func evaluate() {
        let t = nextEvaluation
        advance(to: t)
        let decision = autoscaler.evaluate(at: Duration(milliseconds: t - (origin ?? t)), load: load, current: replicas)
        apply(decision.replicas, at: t)
        if options.keepsSteps {
            steps.append(Step(time: t, load: load, recommendation: decision.recommendation, replicas: decision.replicas,
                              ready: ready, reason: decision.reason))
        }
        nextEvaluation = t + options.interval.milliseconds
    }

    private mutating func apply(_ count: Int, at t: Int64) {
        guard count != replicas else { return }
        scaleEvents += 1
        if count > replicas {
            if options.startup.milliseconds > 0 {
                starting.append(count - replicas, at: t + options.startup.milliseconds)
            } else {
                ready += count - replicas
            }
        } else {
            // The newest starting replicas go first, then serving ones.
            var remove = replicas - count
            while remove > 0, let newest = starting.last?.value {
                let n = min(remove, newest)
                if n == newest { starting.removeLast() } else { starting.replaceLast(with: newest - n) }
                remove -= n
            }
            ready -= remove
        }
        replicas = count
        peak = max(peak, count)
    }

    /// Integrates from `now` to `t`, bringing starting replicas into service on the way.
    private mutating func advance(to t: Int64) {
        while let next = starting.first, next.time <= t {
            integrate(to: next.time)
            ready += next.value
            starting.removeFirst()
        }
        integrate(to: t)
    }

    private mutating func integrate(to t: Int64) {
        let dt = t - now
        guard dt > 0 else { return }
        replicaMilliseconds += Double(replicas) * Double(dt)
        if load > Double(ready) * capacity { overMilliseconds += dt }
        now = t
    }
}

/// A trace too long for its interval.
public struct SimulationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var span: Duration
    public var interval: Duration

    public var description: String {
        "the trace spans \(span) or more: more than \(Simulation.maximumSteps) evaluations at an interval of \(interval); use a longer --interval"
    }
}

extension ScalingPolicy {
    /// The load one replica is sized for: the target per replica for target tracking, and
    /// maxLoad / maxReplicas for linear (at maxLoad the policy asks for maxReplicas). Load above
    /// ready replicas × this is over capacity; load / this is the ideal count.
    public var replicaCapacity: Double {
        switch mode {
        case .targetTracking(_, let target): target
        case .linear(_, let maxLoad): maxLoad / Double(maxReplicas)
        }
    }
}
