import KumoManifest
import KumoPlan

/// `kumo plan --refresh`: what the running runtime holds, against what the state records.
public enum Refresh {
    /// Why each applied resource differs in the runtime, by address; every resource when no
    /// runtime answers.
    public static func drift(runtime: (any RuntimeControl)?, state: StateSnapshot) async -> [String: String] {
        guard !state.resources.isEmpty else { return [:] }
        guard let runtime else {
            return Dictionary(uniqueKeysWithValues: state.resources.keys.map { ($0, "the runtime is not running") })
        }
        let status: ControlAPI.Status
        do { status = try await runtime.status() } catch {
            return Dictionary(uniqueKeysWithValues: state.resources.keys.map { ($0, "the runtime's status cannot be read: \(error)") })
        }
        var live: [String: ControlAPI.Status.Resource] = [:]
        for item in status.resources { live[item.address] = item }
        var drift: [String: String] = [:]
        for (address, record) in state.resources where record.status == .applied {
            guard let item = live[address], item.state != "failed" else {
                drift[address] = "missing from the runtime"
                continue
            }
            if item.specHash != record.specHash {
                drift[address] = "the runtime runs another spec (\(Hashing.short(item.specHash)), state has \(Hashing.short(record.specHash)))"
            } else if item.codeHash != record.codeHash {
                drift[address] = "the runtime runs other code (\(item.codeHash.map(Hashing.short) ?? "none"), state has \(record.codeHash.map(Hashing.short) ?? "none"))"
            } else if case .service(let service) = item.detail, service.replicasReady < service.replicas {
                drift[address] = "\(service.replicasReady) of \(service.replicas) replicas ready"
            }
        }
        return drift
    }

    public static func describe(_ drift: [String: String]) -> String {
        guard !drift.isEmpty else { return "Refreshed: the runtime matches the state.\n\n" }
        var out = "Drift: the runtime differs from the state for \(drift.count) resource\(drift.count == 1 ? "" : "s"):\n"
        for address in drift.keys.sorted() { out += "  ! \(address): \(drift[address]!)\n" }
        return out + "\n"
    }
}
