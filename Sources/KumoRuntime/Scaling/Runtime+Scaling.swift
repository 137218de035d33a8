import Foundation
import KumoManifest

/// How the live autoscaler reads and moves the runtime's functions and services.
extension Runtime {
    /// The target of a scaling policy, by address; nil when it is not deployed.
    func scalingTarget(_ address: String) -> ScalingController.Target? {
        guard let (kind, name) = ResourceKind.parse(address: address) else { return nil }
        switch kind {
        case .service:
            guard let supervisor = service(named: name) else { return nil }
            return ScalingController.Target(read: { await supervisor.reading(cpu: $0) }, apply: { try await supervisor.setReplicas($0) })
        case .function:
            guard let pool = pool(named: name) else { return nil }
            return ScalingController.Target(read: { await pool.reading(cpu: $0) }, apply: { await pool.setWarmWorkers($0) })
        case .scaling, .rule:
            return nil
        }
    }
}

extension ServiceSupervisor {
    func reading(cpu: Bool) -> ScalingController.Reading {
        let metrics = balancer.metrics
        return ScalingController.Reading(
            at: .now, requests: metrics.served, inFlight: metrics.inFlight, busy: metrics.inFlight,
            cpuSeconds: cpu ? livePIDs.reduce(0) { $0 + ChildProcess.treeCPUSeconds(of: $1) } : 0, cpuPerReplica: config.cpu, current: liveReplicas)
    }
}

extension FunctionPool {
    /// Lambda gives a function one vCPU per 1,769 MB of memory: the `cpu` metric's denominator.
    static let megabytesPerCPU = 1769.0

    func reading(cpu: Bool) async -> ScalingController.Reading? {
        let status = await status()
        let pids = cpu ? await workerPIDs : []
        return ScalingController.Reading(
            at: .now, requests: status.invocations, inFlight: status.busy + status.queued, busy: status.busy,
            cpuSeconds: pids.reduce(0) { $0 + ChildProcess.treeCPUSeconds(of: $1) },
            cpuPerReplica: Double(config.memoryMB) / FunctionPool.megabytesPerCPU, current: status.warm + status.busy + status.starting)
    }
}
