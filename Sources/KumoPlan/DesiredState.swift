import Crypto
import KumoManifest

/// Everything the planner needs from a validated project: the resources in canonical form,
/// the secret values available now (never stored or printed), and the estimate inputs.
public struct DesiredState: Sendable {
    public var project: String
    public var stage: String
    /// Sorted by address.
    public var resources: [DesiredResource]
    /// Secret name → value, for the secrets set in the environment.
    public var secretValues: [String: String]
    public var estimates: Estimates
    public var pricing: Pricing
    public var usage: [String: Usage]
    /// Hash of the resolved project and its code: a saved plan is bound to it.
    public var manifestHash: String

    public init(project: String, stage: String = "default", resources: [DesiredResource], secretValues: [String: String] = [:], estimates: Estimates = .builtIn, pricing: Pricing = .builtIn, usage: [String: Usage] = [:]) {
        self.project = project
        self.stage = stage
        let sorted = resources.indices.dropFirst().allSatisfy { resources[$0 - 1].address < resources[$0].address }
        self.resources = sorted ? resources : resources.sorted { $0.address < $1.address }
        self.secretValues = secretValues
        self.estimates = estimates
        self.pricing = pricing
        self.usage = usage
        var hasher = SHA256()
        hasher.update(data: Array("\(project)\n\(stage)\n".utf8))
        var line: [UInt8] = []
        for resource in self.resources {
            line.removeAll(keepingCapacity: true)
            line += resource.address.utf8
            line.append(0x20)
            line += resource.specHash.utf8
            line.append(0x20)
            line += (resource.codeHash ?? "-").utf8
            line.append(0x0A)
            hasher.update(data: line)
        }
        self.manifestHash = "sha256:" + Hashing.hex(hasher.finalize())
    }

    /// Builds the desired state of a project. `environment` supplies `${secret:…}` values;
    /// `codeHash` hashes a `code:` directory given its path (one call per distinct path).
    public init(project: Project, environment: [String: String], codeHash: (String) throws -> String) rethrows {
        // Code directories are few and shared: hash each once, before the parallel part.
        let directory = project.directory
        var hashes: [String: String] = [:]
        for code in Set(project.functions.compactMap(\.code) + project.services.compactMap(\.code)) {
            hashes[code] = try codeHash(ResourceSpec.codePath(code, in: directory))
        }
        let codeHashes = hashes

        /// Functions and rules are most of a large project: build their specs and hashes on every core.
        func build<Item: Sendable>(_ items: [Item], _ make: @escaping @Sendable (Item) -> DesiredResource) -> [DesiredResource] {
            Parallel.ranges(items.count, minimum: 2_000) { range in items[range].map(make) }.flatMap { $0 }
        }
        let references = project.serviceReferences
        @Sendable func serviceDependencies(_ address: String) -> [String] { (references[address] ?? []).map { "service.\($0)" } }
        var resources = build(project.functions) { function in
            DesiredResource(spec: .function(function), codeHash: function.code.map { codeHashes[$0]! },
                            dependencies: serviceDependencies(function.address).sorted())
        }
        // In address order (function, rule, scaling, service), so no sort is needed.
        resources += build(project.rules) { rule in
            DesiredResource(spec: .rule(rule), dependencies: Set(rule.targets.map(\.address)).sorted())
        }
        for policy in project.scaling {
            resources.append(DesiredResource(spec: .scaling(policy), dependencies: [policy.target]))
        }
        for service in project.services {
            let dependencies = Set(service.dependsOn.keys.map { "service.\($0)" }).union(serviceDependencies(service.address))
            resources.append(DesiredResource(spec: .service(service), codeHash: service.code.map { codeHashes[$0]! }, dependencies: dependencies.sorted()))
        }
        let secretNames = Set(resources.flatMap(\.secretNames))
        var values: [String: String] = [:]
        for name in secretNames {
            if let value = environment[name] { values[name] = value }
        }
        self.init(project: project.name, stage: project.stage, resources: resources, secretValues: values,
                  estimates: project.estimates, pricing: project.pricing, usage: project.usage)
    }
}
