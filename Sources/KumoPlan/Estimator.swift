import Foundation
import KumoManifest

/// Rollout time from the seed's models and monthly cost from unit prices.
///
/// Time: the executor performs one wave after another; inside a wave up to `parallelism`
/// actions run at once and the kinds proceed side by side. What each action costs is its
/// `Work` (registrations, processes started and stopped), so a wave takes the longest of its
/// three lines, T(n) for functions (n = warm workers started), S(m) for services (m = replicas
/// started) and E(k) for rules and scaling policies (k = registrations), each
///     init + register·registrations + remove·removals + each·max(1, starts/q) + stop·max(1, stops/q)
/// with q = min(p, the line's `parallelism`), the process starts the machine sustains (a term
/// with nothing to count is 0): registrations go one at a time through the runtime and the
/// state's writer, process starts share the CPU; a service starts and drains its own replicas
/// one at a time, so its line takes at least its largest service's count. The rollout is the sum over waves; with calibrated lines
/// each wave carries the fit's error, and the total the waves' errors added in quadrature.
///
/// Cost (monthly, USD): a function costs requests × memory (GB) × average duration (s) ×
/// price per GB-second + requests / 10⁶ × price per million requests, from its `usage`;
/// a service costs replicas × (cpu × price per vCPU-hour + memory (GB) × price per GB-hour) ×
/// 730 hours. Scaling policies and rules cost nothing locally.
public struct Estimator: Sendable {
    public static let hoursPerMonth = 730.0

    public var coefficients: Estimates
    public var pricing: Pricing
    public var usage: [String: Usage]

    /// What a function without `usage` says instead of a price.
    let usageNote: String

    public init(coefficients: Estimates, pricing: Pricing, usage: [String: Usage]) {
        self.coefficients = coefficients
        self.pricing = pricing
        self.usage = usage
        usageNote = "cost depends on usage: $\(Estimator.price(pricing.perGbSecond)) per GB-second, $\(Estimator.price(pricing.perMillionRequests)) per 1M requests"
    }

    // MARK: Time

    /// The plan's rollout time. The work of each action comes from the manifest's spec (after)
    /// and the state's record (before).
    public func rollout(_ plan: Plan, desired: DesiredState, current: StateSnapshot, parallelism: Int) -> RolloutEstimate {
        var after: [String: Int] = [:]
        for (i, resource) in desired.resources.enumerated() where resource.kind == .function || resource.kind == .service { after[resource.address] = i }
        var work: [String: (kind: ResourceKind, work: Work)] = [:]
        work.reserveCapacity(plan.changes.count)
        for change in plan.changes where change.wave > 0 {
            let wanted = after[change.address].map { desired.resources[$0].spec }
            work[change.address] = (change.kind, Work(change, after: wanted, previous: current.resources[change.address]))
        }
        return rollout(waves: plan.waves.map { wave in wave.compactMap { work[$0] } }, parallelism: parallelism)
    }

    /// The rollout of waves given as each action's kind and work.
    public func rollout(waves: [[(kind: ResourceKind, work: Work)]], parallelism: Int) -> RolloutEstimate {
        var result: [RolloutEstimate.Wave] = []
        for (i, actions) in waves.enumerated() {
            var loads: [Estimates.Kind: LineLoad] = [:]
            for action in actions { loads[Estimates.Kind(action.kind), default: LineLoad()].add(action.work) }
            var wave = RolloutEstimate.Wave(index: i + 1, functions: loads[.functions]?.actions ?? 0, services: loads[.services]?.actions ?? 0,
                                            rules: loads[.rules]?.actions ?? 0, seconds: 0)
            wave.workersStarted = loads[.functions]?.starts ?? 0
            wave.workersStopped = loads[.functions]?.stops ?? 0
            wave.replicasStarted = loads[.services]?.starts ?? 0
            wave.replicasStopped = loads[.services]?.stops ?? 0
            // The wave lasts as long as its slowest line; its error is that line's.
            for kind in Estimates.Kind.allCases {
                guard let load = loads[kind] else { continue }
                let line = coefficients[kind]
                let seconds = Estimator.seconds(line, kind: kind, load: load, parallelism: parallelism)
                if seconds > wave.seconds || (seconds == wave.seconds && wave.error == nil) {
                    wave.seconds = seconds
                    wave.error = line.error.map { $0 * seconds }
                }
            }
            result.append(wave)
        }
        return RolloutEstimate(parallelism: parallelism, coefficients: coefficients, waves: result)
    }

    /// One line's share of a wave: its actions and their processes.
    public struct LineLoad: Sendable, Equatable {
        public var actions = 0
        public var registrations = 0
        public var removals = 0
        public var starts = 0
        public var stops = 0
        /// The most one action starts or stops (a service does them one at a time).
        public var largestStarts = 0
        public var largestStops = 0

        /// Registrations default to every action (creates), removals to none.
        public init(actions: Int = 0, registrations: Int? = nil, removals: Int = 0, starts: Int = 0, stops: Int = 0, largestStarts: Int = 0, largestStops: Int = 0) {
            self.actions = actions
            self.registrations = registrations ?? actions - removals
            self.removals = removals
            self.starts = starts
            self.stops = stops
            self.largestStarts = largestStarts
            self.largestStops = largestStops
        }

        public mutating func add(_ work: Work) {
            actions += 1
            registrations += work.registrations
            removals += work.removals
            starts += work.starts
            stops += work.stops
            largestStarts = max(largestStarts, work.starts)
            largestStops = max(largestStops, work.stops)
        }
    }

    /// The multipliers of a line's register, remove, each and stop coefficients for `load` at
    /// parallelism `p` when the machine sustains `q` process starts at once. Registrations and
    /// removals go one at a time through the runtime and the state's single writer, so they
    /// count whole (as the seed's E(k) = init + each·k does). Starting processes is CPU-bound:
    /// `count` starts done `width` at a time take max(1, count / width) rounds (none for none),
    /// never less than one whole start; a service starts (and drains) its own replicas one at
    /// a time, so its line takes at least its largest service's count. `kumo calibrate` fits
    /// against the same terms.
    public static func rounds(kind: Estimates.Kind, load: LineLoad, parallelism p: Int, sustained q: Double) -> (register: Double, remove: Double, each: Double, stop: Double) {
        let p = Double(max(1, p)), q = max(1, min(p, q))
        func rounds(_ count: Int, _ width: Double, atLeast largest: Int = 1) -> Double {
            count == 0 ? 0 : max(Double(largest), Double(count) / width)
        }
        switch kind {
        case .rules:
            return (0, 0, Double(load.actions), 0)
        case .functions:
            return (Double(load.registrations), Double(load.removals), rounds(load.starts, q), rounds(load.stops, q))
        case .services:
            return (Double(load.registrations), Double(load.removals), rounds(load.starts, q, atLeast: load.largestStarts),
                    rounds(load.stops, q, atLeast: load.largestStops))
        }
    }

    /// Seconds of one line in one wave: 0 without actions.
    public static func seconds(_ line: Estimates.Line, kind: Estimates.Kind, load: LineLoad, parallelism: Int) -> Double {
        guard load.actions > 0 else { return 0 }
        let r = rounds(kind: kind, load: load, parallelism: parallelism, sustained: line.parallelism)
        return line.initialSeconds + line.registerSeconds * r.register + line.removeSeconds * r.remove + line.eachSeconds * r.each + line.stopSeconds * r.stop
    }

    // MARK: Cost

    /// Fills in each change's cost and returns the totals: "after" prices the desired spec,
    /// "before" the state's.
    public func cost(_ plan: inout Plan, desired: DesiredState, current: StateSnapshot) -> CostSummary {
        var summary = CostSummary(before: 0, after: 0, unknownBefore: 0, unknownAfter: 0, pricing: pricing)
        // Most functions are priced by their usage alone (or its absence): only services and
        // functions with usage need their specs, found by index (copies of tens of thousands of
        // resources would cost more than the rest).
        var index: [String: Int] = [:]
        for (i, resource) in desired.resources.enumerated()
        where resource.kind == .service || (resource.kind == .function && !usage.isEmpty && usage[resource.address] != nil) {
            index[resource.address] = i
        }
        for i in plan.changes.indices {
            let kind = plan.changes[i].kind
            guard kind == .function || kind == .service else { continue }
            let address = plan.changes[i].address
            let after: (dollars: Double?, note: String?)?
            let before: (dollars: Double?, note: String?)?
            if kind == .function && (usage.isEmpty || usage[address] == nil) {
                after = plan.changes[i].after == nil ? nil : (nil, usageNote)
                before = plan.changes[i].before == nil ? nil : (nil, usageNote)
            } else {
                let wanted = index[address]
                after = wanted.map { monthly(desired.resources[$0].spec, address: address) }
                before = current.resources[address].map { record in
                    // The same hash is the same spec: price the desired one instead of decoding.
                    if let wanted, desired.resources[wanted].specHash == record.specHash { return monthly(desired.resources[wanted].spec, address: address) }
                    return monthly(record)
                }
            }
            var cost = CostChange(before: before?.dollars, after: after?.dollars, note: after?.note ?? before?.note)
            if before != nil, before?.dollars == nil { summary.unknownBefore += 1 }
            if after != nil, after?.dollars == nil { summary.unknownAfter += 1 }
            summary.before += before?.dollars ?? 0
            summary.after += after?.dollars ?? 0
            if cost.before == nil && cost.after == nil && cost.note == nil { cost.note = "no cost" }
            plan.changes[i].cost = cost
        }
        return summary
    }

    /// The monthly cost of an applied resource, decoding its stored spec only when the price
    /// depends on it.
    func monthly(_ record: ResourceRecord) -> (dollars: Double?, note: String?) {
        if record.kind == .function && usage[record.address] == nil { return (nil, usageNote) }
        do { return monthly(try record.decodedSpec(), address: record.address) } catch { return (nil, "\(error)") }
    }

    /// Monthly dollars for one resource, or nil with a note saying what it depends on.
    /// `address` is the spec's, at hand already (building it again costs more than the rest).
    func monthly(_ spec: ResourceSpec, address: String) -> (dollars: Double?, note: String?) {
        switch spec {
        case .function(let function):
            guard let use = usage[address] else { return (nil, usageNote) }
            let memory = Double(function.memory)
            let requests = Double(use.monthlyRequests)
            let compute = requests * (memory / 1024) * use.averageDuration.seconds * pricing.perGbSecond
            let calls = requests / 1_000_000 * pricing.perMillionRequests
            return (compute + calls, "\(use.monthlyRequests) requests × \(function.memory) MB × \(use.averageDuration)")
        case .service(let service):
            let hourly = hourlyPerReplica(spec) ?? 0
            return (Double(service.replicas) * hourly * Estimator.hoursPerMonth,
                    "\(service.replicas) × (\(ConfigValue.double(service.resources.cpu).compactJSON()) vCPU + \(service.resources.memory) MB) × 730 h")
        case .scaling, .rule:
            return (0, nil)
        }
    }

    /// Dollars for one replica of `spec` running an hour: a service's cpu and memory at the
    /// vCPU-hour and GB-hour prices; a function's warm worker as its memory busy the whole hour
    /// at the GB-second price (an upper bound: AWS prices provisioned concurrency lower). Nil
    /// for what has no replicas.
    public func hourlyPerReplica(_ spec: ResourceSpec) -> Double? {
        switch spec {
        case .service(let service):
            service.resources.cpu * pricing.perVcpuHour + Double(service.resources.memory) / 1024 * pricing.perGbHour
        case .function(let function):
            Double(function.memory) / 1024 * 3600 * pricing.perGbSecond
        case .scaling, .rule:
            nil
        }
    }

    /// A unit price without float noise: `0.0000166667`, `0.2`.
    static func price(_ value: Double) -> String {
        var text = String(format: "%.10f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
