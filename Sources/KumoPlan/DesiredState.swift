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
        self.resources = resources.sorted { $0.address < $1.address }
        self.secretValues = secretValues
        self.estimates = estimates
        self.pricing = pricing
        self.usage = usage
        var text = "\(project)\n\(stage)\n"
        for resource in self.resources {
            text += "\(resource.address) \(resource.specHash) \(resource.codeHash ?? "-")\n"
        }
        self.manifestHash = Hashing.sha256(text.utf8)
    }

    /// Builds the desired state of a project. `environment` supplies `${secret:…}` values;
    /// `codeHash` hashes a `code:` directory given its path (one call per distinct path).
    public init(project: Project, environment: [String: String], codeHash: (String) throws -> String) rethrows {
        var hashes: [String: String] = [:]
        func hash(_ code: String?) throws -> String? {
            guard let code else { return nil }
            let path = code.hasPrefix("/") ? code : project.directory + "/" + code
            if let known = hashes[path] { return known }
            let value = try codeHash(path)
            hashes[path] = value
            return value
        }
        var resources: [DesiredResource] = []
        var secretNames = Set<String>()
        resources.reserveCapacity(project.functions.count + project.services.count + project.scaling.count + project.rules.count)
        for function in project.functions {
            let secrets = Set((function.command + function.environment.values).flatMap(\.secretNames)).sorted()
            secretNames.formUnion(secrets)
            let dependencies = (project.serviceReferences[function.address] ?? []).map { "service.\($0)" }
            resources.append(DesiredResource(
                address: function.address, kind: .function, name: function.name, spec: function.configValue,
                codeHash: try hash(function.code), secretNames: secrets, dependencies: dependencies.sorted()))
        }
        for service in project.services {
            var texts = service.command + service.environment.values
            if case .exec(let argv)? = service.healthcheck?.probe { texts += argv }
            let secrets = Set(texts.flatMap(\.secretNames)).sorted()
            secretNames.formUnion(secrets)
            let dependencies = Set(service.dependsOn.keys).union(project.serviceReferences[service.address] ?? []).map { "service.\($0)" }
            resources.append(DesiredResource(
                address: service.address, kind: .service, name: service.name, spec: service.configValue,
                codeHash: try hash(service.code), secretNames: secrets, dependencies: dependencies.sorted()))
        }
        for policy in project.scaling {
            resources.append(DesiredResource(
                address: policy.address, kind: .scaling, name: policy.name, spec: policy.configValue,
                dependencies: [policy.target]))
        }
        for rule in project.rules {
            resources.append(DesiredResource(
                address: rule.address, kind: .rule, name: rule.name, spec: rule.configValue,
                dependencies: Set(rule.targets.map(\.address)).sorted()))
        }
        var values: [String: String] = [:]
        for name in secretNames {
            if let value = environment[name] { values[name] = value }
        }
        self.init(project: project.name, stage: project.stage, resources: resources, secretValues: values,
                  estimates: project.estimates, pricing: project.pricing, usage: project.usage)
    }
}
