import Foundation
import KumoManifest
import KumoPlan

/// `kumo status`: each resource of the state and of the running runtime, side by side, with
/// what differs between them.
public struct StatusReport: Sendable, Encodable, Equatable {
    public struct Row: Sendable, Encodable, Equatable {
        public var address: String
        /// The runtime's word for it (`ready`, `degraded`, `registered`, `failed`), `tainted`
        /// when an apply did not finish it, or why the runtime does not show it.
        public var state: String
        public var appliedSerial: Int?
        public var drift: String?
        public var detail: ControlAPI.Status.Detail?

        enum CodingKeys: String, CodingKey {
            case address, state, drift, detail
            case appliedSerial = "applied_serial"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(address, forKey: .address)
            try c.encode(state, forKey: .state)
            try c.encode(appliedSerial, forKey: .appliedSerial)
            try c.encode(drift, forKey: .drift)
            try c.encode(detail ?? .other(lastError: nil), forKey: .detail)
        }
    }

    /// Nil when no runtime is running.
    public var runtime: ControlAPI.Status.Daemon?
    public var resources: [Row]

    public init(state: StateSnapshot, runtime status: ControlAPI.Status?) {
        var live: [String: ControlAPI.Status.Resource] = [:]
        for item in status?.resources ?? [] { live[item.address] = item }
        runtime = status?.runtime
        resources = Set(state.resources.keys).union(live.keys).sorted().map { address in
            let record = state.resources[address]
            let item = live[address]
            var drift: String?
            if let record, let item, item.specHash != record.specHash { drift = "runs another spec than the state records" }
            if record == nil { drift = "not in the state" }
            let runtimeState = item?.state ?? (status == nil ? "runtime not running" : "not running")
            return Row(address: address, state: record?.status == .tainted ? "tainted" : runtimeState,
                       appliedSerial: record?.appliedSerial, drift: drift, detail: item?.detail)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runtime, forKey: .runtime)
        try c.encode(resources, forKey: .resources)
    }

    enum CodingKeys: String, CodingKey { case runtime, resources }

    /// Indented JSON with sorted keys, for `kumo status --json`.
    public var json: String { ControlAPI.pretty(self) }

    /// One line per resource for people: workers or replicas, and notes (calls, errors,
    /// restarts, what a replica that is not ready last said, drift).
    public var table: [[String]] {
        var table = [["RESOURCE", "STATE", "WORKERS", "DETAIL"]]
        for row in resources {
            var workers = ""
            var notes: [String] = []
            switch row.detail {
            case .function(let f)?:
                workers = "\(f.warm) warm, \(f.busy) busy"
                if f.invocations > 0 { notes.append("\(f.invocations) calls, \(f.errors) errors") }
            case .service(let s)?:
                workers = "\(s.replicasReady)/\(s.replicas) ready"
                if s.requests > 0 { notes.append("\(s.requests) request\(s.requests == 1 ? "" : "s"), \(s.failedRequests) failed") }
                let enforced = s.cpuLimit.hasPrefix("enforced")
                notes.append("cpu \(s.cpu == s.cpu.rounded() ? String(Int(s.cpu)) : String(s.cpu))\(enforced ? " (limited)" : " (not enforced)")")
                let restarts = s.replicaDetail.map(\.restarts).reduce(0, +)
                if restarts > 0 { notes.append("\(restarts) restart\(restarts == 1 ? "" : "s")") }
                for replica in s.replicaDetail where replica.state != "ready" {
                    let exit = replica.lastExit.map { ", last exit: \($0)" } ?? ""
                    let stderr = replica.recentStderr.last.map { ", stderr: \($0)" } ?? ""
                    notes.append("replica \(replica.replica) \(replica.state)\(exit)\(stderr)")
                }
            case .rule(let r)?:
                workers = r.enabled ? "" : "disabled"
                notes.append("\(r.matched) matched, \(r.delivered) delivered, \(r.retrying) retrying, \(r.deadLettered) dead-lettered")
                if r.pending > 0 { notes.append("\(r.pending) pending") }
                if r.dropped > 0 { notes.append("\(r.dropped) dropped") }
                if let schedule = r.schedule { notes.append("\(schedule), next \(r.nextFire ?? "never")") }
            case .scaling(let p)?:
                if let d = p.lastDecision {
                    workers = "\(d.replicas) of \(p.target)"
                    notes.append("\(d.metric) \(d.load == d.load.rounded() ? String(Int(d.load)) : String(format: "%.2f", d.load)), recommendation \(d.recommendation): \(d.reason) (at \(d.at))")
                } else {
                    notes.append("scales \(p.target) every \(p.interval); no decision yet")
                }
            case .other?, nil:
                break
            }
            if let error = row.detail?.lastError { notes.append("last error: \(error)") }
            if let drift = row.drift { notes.append(drift) }
            table.append([row.address, row.state, workers, notes.joined(separator: "; ")])
        }
        return table
    }
}
