import Foundation
import KumoManifest

/// Rollout time from the seed's models and monthly cost from unit prices.
///
/// Time: the executor performs one wave after another; inside a wave up to `parallelism`
/// actions run at once and the kinds proceed side by side, so a wave with n functions, m
/// services and k rules or scaling policies takes
///     max(T_init + T_exec·⌈n/p⌉, S_init + S_deploy·⌈m/p⌉, E_init + E_trigger·⌈k/p⌉)
/// (a line with no actions counts 0), and the rollout is the sum over waves.
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

    public func rollout(_ plan: Plan, parallelism: Int) -> RolloutEstimate {
        var kinds: [String: ResourceKind] = [:]
        kinds.reserveCapacity(plan.changes.count)
        for i in plan.changes.indices where plan.changes[i].wave > 0 { kinds[plan.changes[i].address] = plan.changes[i].kind }
        var waves: [RolloutEstimate.Wave] = []
        for (i, addresses) in plan.waves.enumerated() {
            var n = 0, m = 0, k = 0
            for address in addresses {
                switch kinds[address] {
                case .function?: n += 1
                case .service?: m += 1
                case .rule?, .scaling?: k += 1
                case nil: break
                }
            }
            let seconds = [
                time(coefficients.functions, count: n, parallelism: parallelism),
                time(coefficients.services, count: m, parallelism: parallelism),
                time(coefficients.rules, count: k, parallelism: parallelism),
            ].max() ?? 0
            waves.append(RolloutEstimate.Wave(index: i + 1, functions: n, services: m, rules: k, seconds: seconds))
        }
        return RolloutEstimate(parallelism: parallelism, coefficients: coefficients, waves: waves)
    }

    /// `init + each × ⌈count / parallelism⌉` seconds, 0 for no actions.
    public func time(_ line: Estimates.Line, count: Int, parallelism: Int) -> Double {
        guard count > 0 else { return 0 }
        let rounds = (count + parallelism - 1) / parallelism
        return line.initial.seconds + line.each.seconds * Double(rounds)
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
