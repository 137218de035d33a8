/// A task size Fargate accepts: CPU units (1024 = 1 vCPU) and memory in MiB.
///
/// Fargate takes only fixed combinations; ``fitting(cpu:memory:)`` rounds a service's resources
/// up to the smallest one that holds them.
struct FargateSize: Equatable {
    var cpu: Int
    var memory: Int

    /// The valid combinations, smallest first (AWS's task size table for Linux).
    static let all: [FargateSize] = {
        var sizes: [FargateSize] = []
        func add(_ cpu: Int, _ memories: some Sequence<Int>) { sizes += memories.map { FargateSize(cpu: cpu, memory: $0) } }
        add(256, [512, 1024, 2048])
        add(512, stride(from: 1024, through: 4096, by: 1024))
        add(1024, stride(from: 2048, through: 8192, by: 1024))
        add(2048, stride(from: 4096, through: 16384, by: 1024))
        add(4096, stride(from: 8192, through: 30720, by: 1024))
        add(8192, stride(from: 16384, through: 61440, by: 4096))
        add(16384, stride(from: 32768, through: 122880, by: 8192))
        return sizes
    }()

    /// The smallest valid size with at least `cpu` vCPUs and `memory` MB, preferring less CPU;
    /// nil when the request is larger than Fargate's largest task.
    static func fitting(cpu: Double, memory: Int) -> FargateSize? {
        let units = Int((cpu * 1024).rounded(.up))
        return all.first { $0.cpu >= units && $0.memory >= memory }
    }

    /// `0.25 vCPU / 512 MB`.
    var description: String {
        let vcpu = Double(cpu) / 1024
        return "\(vcpu == vcpu.rounded() ? String(Int(vcpu)) : String(vcpu)) vCPU / \(memory) MB"
    }
}
