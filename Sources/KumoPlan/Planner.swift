import KumoManifest

/// Plans the change from the current state to the desired state. Pure: no files, no clock.
public struct Planner: Sendable {
    public struct Options: Sendable {
        /// Plan only these addresses and what they depend on (or, for a resource only in the
        /// state, what depends on it); empty plans everything.
        public var targets: [String]
        public var parallelism: Int
        /// The rollout-time estimate; `kumo diff` leaves it out.
        public var rollout: Bool
        /// The monthly cost estimate.
        public var cost: Bool
        /// Coefficients fitted by `kumo calibrate`; they replace the manifest's and built-in ones.
        public var calibrated: Estimates?
        /// `--refresh`: applied resources the runtime does not run as recorded, with why; each
        /// is applied again even when the manifest did not change.
        public var drift: [String: String] = [:]

        public init(targets: [String] = [], parallelism: Int = 10, rollout: Bool = true, cost: Bool = true, calibrated: Estimates? = nil) {
            self.targets = targets
            self.parallelism = parallelism
            self.rollout = rollout
            self.cost = cost
            self.calibrated = calibrated
        }
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unknownTarget(String, suggestion: String?)
        case invalidParallelism(Int)

        public var description: String {
            switch self {
            case .unknownTarget(let address, let suggestion):
                return "--target \(address): no such resource in the manifest or the state" + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
            case .invalidParallelism(let n):
                return "--parallelism must be at least 1, got \(n)"
            }
        }
    }

    /// The fields whose change cannot be applied in place, per kind.
    public static let replacementFields: [ResourceKind: Set<String>] = [
        .function: ["runtime"],
        .service: ["port", "image"],
        .scaling: ["target"],
        .rule: [],
    ]

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    public func plan(desired: DesiredState, current: StateSnapshot) throws(Failure) -> Plan {
        guard options.parallelism >= 1 else { throw .invalidParallelism(options.parallelism) }
        let scope = try self.scope(desired: desired, current: current)
        var changes: [ResourceChange] = []
        var warnings: [String] = []
        var missingSecrets = Set<String>()
        changes.reserveCapacity(desired.resources.count + current.resources.count)

        var desiredAddresses = Set<String>()
        desiredAddresses.reserveCapacity(desired.resources.count)
        let resources = desired.resources
        for i in resources.indices {
            desiredAddresses.insert(resources[i].address)
            for name in resources[i].secretNames where desired.secretValues[name] == nil { missingSecrets.insert(name) }
        }
        // Each resource's diff is independent of the others': compare on every core.
        let planner = self
        let diffs = Parallel.ranges(resources.count, minimum: 2_000) { range in
            range.compactMap { i -> ResourceChange? in
                if let scope, !scope.contains(resources[i].address) { return nil }
                return planner.diff(resources[i], current.resources[resources[i].address], secrets: desired.secretValues)
            }
        }
        for batch in diffs { changes += batch }
        let inOrder = changes.count
        for record in current.resources.values where !desiredAddresses.contains(record.address) {
            if let scope, !scope.contains(record.address) { continue }
            changes.append(ResourceChange(
                address: record.address, kind: record.kind, name: record.name, action: .delete,
                reasons: ["not in the manifest"], fields: [], before: record.spec, after: nil,
                codeHashBefore: record.codeHash, codeHashAfter: nil, dependencies: record.dependencies, wave: 0))
        }
        // The desired resources come sorted; only deletes need placing.
        if changes.count > inOrder { changes.sort { $0.address < $1.address } }
        for name in missingSecrets.sorted() {
            warnings.append("secret '\(name)' is not set in the environment: a change of its value cannot be seen, and apply will need it")
        }

        let waves = Planner.waves(changes, current: current)
        var index: [String: Int] = [:]
        for (i, change) in changes.enumerated() { index[change.address] = i }
        for (number, wave) in waves.enumerated() {
            for address in wave { changes[index[address]!].wave = number + 1 }
        }

        var plan = Plan(
            project: desired.project, stage: desired.stage, changes: changes, waves: waves,
            estimate: nil, cost: nil, lineage: current.lineage, serial: current.serial,
            manifestHash: desired.manifestHash, targets: options.targets.sorted(), warnings: warnings)
        let estimator = Estimator(coefficients: options.calibrated ?? desired.estimates, pricing: desired.pricing, usage: desired.usage)
        if options.rollout { plan.estimate = estimator.rollout(plan, desired: desired, current: current, parallelism: options.parallelism) }
        if options.cost { plan.cost = estimator.cost(&plan, desired: desired, current: current) }
        return plan
    }

    // MARK: Diff

    func diff(_ resource: DesiredResource, _ record: ResourceRecord?, secrets: [String: String]) -> ResourceChange {
        var change = ResourceChange(
            address: resource.address, kind: resource.kind, name: resource.name, action: .noop,
            reasons: [], fields: [], before: record?.spec, after: resource.canonical,
            codeHashBefore: record?.codeHash, codeHashAfter: resource.codeHash, dependencies: resource.dependencies, wave: 0)
        guard let record else {
            change.action = .create
            change.reasons = ["not in the state"]
            return change
        }
        if record.specHash != resource.specHash || record.kind != resource.kind {
            let forcing = Planner.replacementFields[resource.kind] ?? []
            FieldDiff.compare(record.spec, resource.canonical, path: "", into: &change.fields)
            for i in change.fields.indices {
                let top = FieldDiff.topLevel(change.fields[i].path)
                change.fields[i].forcesReplacement = forcing.contains(top)
            }
        }
        if record.codeHash != resource.codeHash {
            change.fields.append(FieldChange(
                path: "code (hash)", before: record.codeHash.map { .string($0) }, after: resource.codeHash.map { .string($0) }))
        }
        for name in resource.secretNames {
            guard let value = secrets[name] else { continue }
            let stored = record.secrets[name].flatMap(SecretHash.init(text:))
            if stored == nil || !stored!.matches(value) {
                change.fields.append(FieldChange(path: "secret:\(name)", before: stored == nil ? nil : .string("(sensitive)"), after: .string("(sensitive)"), sensitive: true))
            }
        }
        for name in record.secrets.keys.sorted() where !resource.secretNames.contains(name) {
            change.fields.append(FieldChange(path: "secret:\(name)", before: .string("(sensitive)"), after: nil, sensitive: true))
        }

        let forcing = change.fields.filter(\.forcesReplacement).map(\.path)
        if record.status == .tainted {
            change.action = .replace
            change.reasons.append("tainted: an earlier apply did not finish it")
        }
        if !forcing.isEmpty {
            change.action = .replace
            let labels = Array(Set(forcing.map { FieldDiff.reasonLabel($0) })).sorted()
            change.reasons.append(labels.joined(separator: ", ") + (labels.count == 1 ? " forces replacement" : " force replacement"))
        }
        if change.action == .noop && !change.fields.isEmpty {
            change.action = .update
        }
        if let drift = options.drift[resource.address] {
            if change.action == .noop { change.action = .update }
            change.reasons.append("drift: \(drift)")
        }
        if change.action == .update, case .service(let service) = resource.spec {
            change.update = Planner.updateStrategy(service, change: change, record: record, drifted: options.drift[resource.address] != nil)
        }
        if change.action == .update || (change.action == .replace && forcing.isEmpty) {
            let changed = Array(Set(change.fields.filter { !$0.forcesReplacement }.map { FieldDiff.reasonLabel($0.path) })).sorted()
            if !changed.isEmpty {
                change.reasons.append(changed.joined(separator: ", ") + " changed")
            }
        }
        return change
    }

    /// A service whose update changes only `replicas` (not its code, secrets or anything
    /// else, and not drifted) scales in place; any other update rolls its replicas.
    static func updateStrategy(_ service: Service, change: ResourceChange, record: ResourceRecord, drifted: Bool) -> UpdateStrategy {
        guard !drifted, record.codeHash == change.codeHashAfter,
              !change.fields.contains(where: { $0.sensitive }),
              case .service(let applied)? = try? record.decodedSpec(),
              service.differsOnlyInReplicas(from: applied) else { return .rolling }
        return .scale
    }

    // MARK: Targets

    /// The addresses a `--target` plan covers, nil when every resource is planned.
    func scope(desired: DesiredState, current: StateSnapshot) throws(Failure) -> Set<String>? {
        guard !options.targets.isEmpty else { return nil }
        var desiredByAddress: [String: DesiredResource] = [:]
        for resource in desired.resources { desiredByAddress[resource.address] = resource }
        var scope = Set<String>()
        // Built on first need: for each address, the state-only resources that depend on it.
        var dependents: [String: [String]]?
        for target in options.targets {
            if desiredByAddress[target] != nil {
                var stack = [target]
                while let address = stack.popLast() {
                    guard scope.insert(address).inserted else { continue }
                    stack += desiredByAddress[address]?.dependencies ?? []
                }
            } else if current.resources[target] != nil {
                // Deleting a resource takes with it what the state says depends on it.
                if dependents == nil {
                    var index: [String: [String]] = [:]
                    for record in current.resources.values where desiredByAddress[record.address] == nil {
                        for dependency in record.dependencies { index[dependency, default: []].append(record.address) }
                    }
                    dependents = index
                }
                var stack = [target]
                while let address = stack.popLast() {
                    guard scope.insert(address).inserted else { continue }
                    stack += dependents?[address] ?? []
                }
            } else {
                let known = Set(desiredByAddress.keys).union(current.resources.keys)
                throw .unknownTarget(target, suggestion: Suggestion.closest(to: target, in: known.sorted()))
            }
        }
        return scope
    }

    // MARK: Waves

    /// Groups the actions into waves: deletes first, each after everything that depends on it;
    /// then creates, updates and replacements, each after the changed resources it depends on.
    static func waves(_ changes: [ResourceChange], current: StateSnapshot) -> [[String]] {
        var index: [String: Int] = [:]
        index.reserveCapacity(changes.count)
        for i in changes.indices { index[changes[i].address] = i }
        func isDelete(_ i: Int) -> Bool { changes[i].action == .delete }
        func isForward(_ i: Int) -> Bool { changes[i].action != .noop && changes[i].action != .delete }

        // Deletes: a resource goes after every deleted resource that depends on it.
        var dependents: [Int: [Int]] = [:]
        for i in changes.indices where isDelete(i) {
            for dependency in changes[i].dependencies {
                if let d = index[dependency], isDelete(d) { dependents[d, default: []].append(i) }
            }
        }
        // Forward: a resource goes after every changed resource it depends on.
        var prerequisites: [Int: [Int]] = [:]
        for i in changes.indices where isForward(i) {
            for dependency in changes[i].dependencies {
                if let d = index[dependency], isForward(d) { prerequisites[i, default: []].append(d) }
            }
        }
        // Longest-path depth; a cycle (only possible in a hand-edited state) is cut.
        func depths(_ members: [Int], _ edges: [Int: [Int]]) -> [Int: Int] {
            var depth: [Int: Int] = [:]
            var visiting = Set<Int>()
            func visit(_ i: Int) -> Int {
                if let known = depth[i] { return known }
                guard visiting.insert(i).inserted else { return 0 }
                let value = (edges[i] ?? []).map { visit($0) + 1 }.max() ?? 0
                depth[i] = value
                return value
            }
            for i in members { _ = visit(i) }
            return depth
        }
        let deletes = changes.indices.filter(isDelete)
        let forward = changes.indices.filter(isForward)
        var waves: [[String]] = []
        for (members, depth) in [(deletes, depths(deletes, dependents)), (forward, depths(forward, prerequisites))] {
            guard let top = depth.values.max() else { continue }
            var levels = [[String]](repeating: [], count: top + 1)
            for i in members { levels[depth[i]!].append(changes[i].address) }
            waves += levels.filter { !$0.isEmpty }
        }
        return waves
    }
}

/// Field-level comparison of two specs.
enum FieldDiff {
    /// Appends a change for every leaf that differs; arrays compare element by element.
    static func compare(_ before: ConfigValue?, _ after: ConfigValue?, path: String, into out: inout [FieldChange]) {
        switch (before, after) {
        case (.object(let a)?, .object(let b)?):
            var seen = Set<String>()
            for (key, value) in b {
                seen.insert(key)
                compare(a.first { $0.0 == key }?.1, value, path: join(path, key), into: &out)
            }
            for (key, value) in a where !seen.contains(key) {
                compare(value, nil, path: join(path, key), into: &out)
            }
        case (.array(let a)?, .array(let b)?):
            for i in 0..<max(a.count, b.count) {
                compare(i < a.count ? a[i] : nil, i < b.count ? b[i] : nil, path: "\(path)[\(i)]", into: &out)
            }
        default:
            if let before, let after, before == after { return }
            if before == nil && after == nil { return }
            out.append(FieldChange(path: path, before: before, after: after, sensitive: isSensitive(before) || isSensitive(after)))
        }
    }

    static func isSensitive(_ value: ConfigValue?) -> Bool {
        switch value {
        case .string(let s)?: return s.contains("${secret:")
        case .array(let items)?: return items.contains { isSensitive($0) }
        case .object(let pairs)?: return pairs.contains { isSensitive($0.1) }
        default: return false
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy { ASCII.isNameByte($0) }
        let component = plain ? key : "[\(quoted(key))]"
        if path.isEmpty { return plain ? key : component }
        return plain ? path + "." + key : path + component
    }

    static func quoted(_ key: String) -> String {
        var out = ""
        ConfigValue.writeJSONString(key, into: &out)
        return out
    }

    /// How a reason names a changed field: `'memory'`, `'environment'`, the code, a secret.
    static func reasonLabel(_ path: String) -> String {
        if path == "code (hash)" { return "code contents" }
        if path.hasPrefix("secret:") { return "secret '\(path.dropFirst(7))'" }
        return "'\(topLevel(path))'"
    }

    /// `environment` for `environment.TABLE`, `events` for `events[0].http`.
    static func topLevel(_ path: String) -> String {
        let end = path.firstIndex { $0 == "." || $0 == "[" } ?? path.endIndex
        return String(path[..<end])
    }
}
