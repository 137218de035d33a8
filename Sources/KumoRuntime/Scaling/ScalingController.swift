import Foundation
import KumoManifest
import KumoPlan
import KumoScaling

/// The live autoscaler: every `interval` (15 s by default, the HPA's period) each scaling
/// policy's metric is read from its target, averaged over the last interval, and
/// ``Autoscaler`` — the same code `kumo simulate` runs — decides the count; the runtime applies
/// it (a service's replicas, a function's warm workers). The applied state is not rewritten:
/// the manifest's count stays what a plan compares.
actor ScalingController {
    /// What a target reports at one instant; the metrics are derived from two or more readings.
    struct Reading: Sendable {
        var at: ContinuousClock.Instant
        /// Requests (service) or invocations (function) so far.
        var requests: Int
        /// Requests in flight (service), or calls running and queued (function).
        var inFlight: Int
        /// Busy replicas' in-flight requests (service) or busy workers (function).
        var busy: Int
        /// CPU seconds used so far by the target's processes (0 when not asked for: reading it
        /// walks /proc, and only the `cpu` metric needs it).
        var cpuSeconds: Double
        /// CPU one replica or worker may use, in cores (the denominator of `cpu`).
        var cpuPerReplica: Double
        /// Replicas (service) or live workers (function) now.
        var current: Int
    }

    /// How the runtime reads and moves one target.
    struct Target: Sendable {
        /// `cpu`: whether to read the processes' CPU time too.
        var read: @Sendable (_ cpu: Bool) async -> Reading?
        /// Runs that many replicas or warm workers; nil hands the count back to the manifest.
        var apply: @Sendable (Int?) async throws -> Void
    }

    private struct Entry {
        var policy: ScalingPolicy
        var autoscaler: Autoscaler
        var readings: [Reading] = []
        var last: ControlAPI.Status.ScalingDetail.LastDecision?
    }

    let interval: Duration
    private let logs: LogBook
    private let resolve: @Sendable (String) async -> Target?
    private var entries: [String: Entry] = [:]
    private let origin = ContinuousClock.now
    private var task: Task<Void, Never>?

    private let metrics: RuntimeMetrics?

    init(interval: Duration, logs: LogBook, metrics: RuntimeMetrics? = nil, resolve: @escaping @Sendable (String) async -> Target?) {
        self.metrics = metrics
        self.interval = interval
        self.logs = logs
        self.resolve = resolve
    }

    /// Reads every target about once a second and evaluates every policy each interval.
    func start() {
        guard task == nil else { return }
        let tickMilliseconds: Int64 = min(1000, max(50, interval.milliseconds))
        let tick = Swift.Duration.milliseconds(tickMilliseconds)
        let every = max(1, Int((interval.milliseconds + tickMilliseconds - 1) / tickMilliseconds))
        task = Task {
            var n = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                n += 1
                await self.readAll()
                if n % every == 0 { await self.evaluateAll() }
            }
        }
    }

    func stop() {
        task?.cancel()
        task = nil
    }

    /// A new or changed policy starts with a fresh history (its windows and periods).
    func set(_ policy: ScalingPolicy) async {
        if let old = entries[policy.name], old.policy == policy { return }
        if let old = entries[policy.name], old.policy.target != policy.target { try? await resolve(old.policy.target)?.apply(nil) }
        entries[policy.name] = Entry(policy: policy, autoscaler: Autoscaler(policy: policy))
    }

    /// The policy goes; its target runs the manifest's count again.
    func remove(_ name: String) async {
        guard let entry = entries.removeValue(forKey: name) else { return }
        try? await resolve(entry.policy.target)?.apply(nil)
        logs.write("scaling.\(name)", tag: "scaling", "policy removed: \(entry.policy.target) runs its manifest's count again")
    }

    private func readAll() async {
        for (name, entry) in entries {
            guard let reading = await resolve(entry.policy.target)?.read(entry.policy.metric == .cpu) else { continue }
            guard var current = entries[name] else { continue }
            current.readings.append(reading)
            // Keep one interval of readings, and the one just before it (rates need two ends).
            let horizon = reading.at - .milliseconds(interval.milliseconds)
            while current.readings.count > 2, current.readings[1].at <= horizon { current.readings.removeFirst() }
            entries[name] = current
        }
    }

    /// The policy's metric over the window, summed over all replicas (what the autoscaler and
    /// `kumo simulate` take as load).
    static func load(_ metric: ScalingPolicy.Metric, _ readings: [Reading]) -> Double {
        guard let last = readings.last else { return 0 }
        let first = readings.first!
        let seconds = (last.at - first.at).seconds
        func average(_ value: (Reading) -> Double) -> Double { readings.map(value).reduce(0, +) / Double(readings.count) }
        switch metric {
        case .requestsPerSecond:
            return seconds > 0 ? Double(last.requests - first.requests) / seconds : 0
        case .inFlight:
            return average { Double($0.inFlight) }
        case .concurrency:
            return average { Double($0.busy) }
        case .cpu:
            guard seconds > 0, last.cpuPerReplica > 0 else { return 0 }
            return (last.cpuSeconds - first.cpuSeconds) / seconds / last.cpuPerReplica
        }
    }

    private func evaluateAll() async {
        for name in entries.keys.sorted() { await evaluate(name) }
    }

    func evaluate(_ name: String) async {
        guard var entry = entries[name], let target = await resolve(entry.policy.target), let reading = entry.readings.last else { return }
        let metric = entry.policy.metric
        let load = ScalingController.load(metric, entry.readings)
        let elapsed = ContinuousClock.now - origin
        let time = Duration(milliseconds: Int64(FunctionPool.milliseconds(elapsed)))
        let decision = entry.autoscaler.evaluate(at: time, load: load, current: reading.current)
        let record = ControlAPI.Status.ScalingDetail.LastDecision(
            at: WallClock.iso8601(), metric: metric.rawValue, load: load, current: decision.current, recommendation: decision.recommendation,
            replicas: decision.replicas, reason: decision.reason.description, reasonID: decision.reason.id)
        entry.last = record
        entries[name] = entry
        metrics?.decided(policy: name, target: entry.policy.target, reason: decision.reason.id, replicas: decision.replicas)
        let line = "\(metric.rawValue) \(ScalingController.format(load)) over \(interval), current \(decision.current), recommendation \(decision.recommendation) → \(decision.replicas): \(decision.reason)"
        if decision.replicas != reading.current {
            logs.write("scaling.\(name)", tag: "scaling", "\(entry.policy.target): \(line)")
            do { try await target.apply(decision.replicas) } catch {
                logs.write("scaling.\(name)", tag: "scaling", "\(entry.policy.target): cannot scale to \(decision.replicas): \(error)")
            }
        } else {
            logs.write("scaling.\(name)", tag: "scaling", "\(entry.policy.target): \(line)")
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.2f", value)
    }

    func detail(_ name: String) -> ControlAPI.Status.ScalingDetail? {
        guard let entry = entries[name] else { return nil }
        return ControlAPI.Status.ScalingDetail(target: entry.policy.target, interval: interval.description, lastDecision: entry.last)
    }
}
