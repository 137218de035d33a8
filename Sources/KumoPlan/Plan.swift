import KumoManifest

/// What a plan does to one resource.
public enum PlanAction: String, Sendable, CaseIterable {
    case create, update, replace, delete
    case noop = "no-op"

    /// The symbol in text plans: `+ ~ -/+ -`.
    public var symbol: String {
        switch self {
        case .create: "+"
        case .update: "~"
        case .replace: "-/+"
        case .delete: "-"
        case .noop: " "
        }
    }
}

/// One field's before and after. A nil side means the field is absent there.
public struct FieldChange: Sendable, Equatable {
    /// `memory`, `environment.TABLE`, `events[0].http.path`, `code` (by hash) or `secret:NAME`.
    public var path: String
    public var before: ConfigValue?
    public var after: ConfigValue?
    /// Shown as `(sensitive)`: the value is or contains a secret.
    public var sensitive: Bool
    /// Changing this field cannot be done in place.
    public var forcesReplacement: Bool

    public init(path: String, before: ConfigValue?, after: ConfigValue?, sensitive: Bool = false, forcesReplacement: Bool = false) {
        self.path = path
        self.before = before
        self.after = after
        self.sensitive = sensitive
        self.forcesReplacement = forcesReplacement
    }
}

/// Monthly cost of one resource before and after, in US dollars; nil where it cannot be known.
public struct CostChange: Sendable, Equatable {
    public var before: Double?
    public var after: Double?
    /// Why a side is unknown or how it was computed, for people (e.g. "cost depends on usage").
    public var note: String?
}

/// How an update reaches a service's running replicas: the executor and the runtime take it
/// from the plan.
public enum UpdateStrategy: String, Sendable, CaseIterable {
    /// Only `replicas` changed: replicas are added or stopped, the others keep running.
    case scale
    /// Anything else: new replicas replace the old ones one at a time.
    case rolling

    /// How the plan names it.
    public var label: String {
        switch self {
        case .scale: "scale in place"
        case .rolling: "rolling update"
        }
    }
}

public struct ResourceChange: Sendable, Equatable {
    public var address: String
    public var kind: ResourceKind
    public var name: String
    public var action: PlanAction
    /// Why, in words: "not in the state", "memory changed", "runtime forces replacement".
    public var reasons: [String]
    public var fields: [FieldChange]
    public var before: ConfigValue?
    public var after: ConfigValue?
    public var codeHashBefore: String?
    public var codeHashAfter: String?
    public var dependencies: [String]
    /// 1-based wave in which the executor performs the action; 0 for no-ops.
    public var wave: Int
    public var cost: CostChange?
    /// For an update of a service: whether it scales in place or rolls; nil otherwise.
    public var update: UpdateStrategy? = nil

    /// The fields that force the replacement, when the action is `replace`.
    public var replacementFields: [String] { fields.filter(\.forcesReplacement).map(\.path) }
}

/// Rollout time per wave from the seed's models, the work they charge and the parallelism.
public struct RolloutEstimate: Sendable, Equatable {
    public struct Wave: Sendable, Equatable {
        public var index: Int
        /// Actions per model line: functions (T), services (S), rules and scaling policies (E).
        public var functions: Int
        public var services: Int
        public var rules: Int
        /// The n of T(n) and the m of S(m), and what the wave stops.
        public var workersStarted = 0
        public var workersStopped = 0
        public var replicasStarted = 0
        public var replicasStopped = 0
        public var seconds: Double
        /// One standard error of `seconds`, from a calibrated line; nil otherwise.
        public var error: Double? = nil

        public init(index: Int, functions: Int, services: Int, rules: Int, seconds: Double) {
            self.index = index
            self.functions = functions
            self.services = services
            self.rules = rules
            self.seconds = seconds
        }
    }

    public var parallelism: Int
    public var coefficients: Estimates
    public var waves: [Wave]
    public var seconds: Double { waves.reduce(0) { $0 + $1.seconds } }

    public init(parallelism: Int, coefficients: Estimates, waves: [Wave]) {
        self.parallelism = parallelism
        self.coefficients = coefficients
        self.waves = waves
    }

    /// The waves' errors added in quadrature; nil when no wave's line is calibrated.
    public var error: Double? {
        let errors = waves.compactMap(\.error)
        return errors.isEmpty ? nil : errors.reduce(0) { $0 + $1 * $1 }.squareRoot()
    }
}

/// Monthly cost totals, before and after; `unknown` counts resources whose cost depends on usage.
public struct CostSummary: Sendable, Equatable {
    public var before: Double
    public var after: Double
    public var unknownBefore: Int
    public var unknownAfter: Int
    public var pricing: Pricing
    public var delta: Double { after - before }
}

/// The result of planning: a change per resource, the waves, and the estimates.
public struct Plan: Sendable, Equatable {
    public static let formatVersion = "1.0"

    public var project: String
    public var stage: String
    /// Every resource of the manifest and the state, sorted by address; no-ops included.
    public var changes: [ResourceChange]
    /// Addresses per wave, in order (deletes come first, dependents before dependencies).
    public var waves: [[String]]
    public var estimate: RolloutEstimate?
    public var cost: CostSummary?
    /// The state the plan was made against: a saved plan applies only to exactly this state.
    public var lineage: String?
    public var serial: Int
    public var manifestHash: String
    /// `--target` addresses, empty when the whole project is planned.
    public var targets: [String]
    /// Things the user should know that do not stop the plan (an unset secret, say).
    public var warnings: [String]

    public var actionable: [ResourceChange] { changes.filter { $0.action != .noop } }
    public var hasChanges: Bool { changes.indices.contains { changes[$0].action != .noop } }

    public func count(_ action: PlanAction) -> Int { changes.indices.count { changes[$0].action == action } }

    /// `Plan: 2 to add, 1 to change, 1 to replace, 0 to destroy.`
    public var summary: String {
        guard hasChanges else { return "No changes. The state matches the manifest." }
        return "Plan: \(count(.create)) to add, \(count(.update)) to change, \(count(.replace)) to replace, \(count(.delete)) to destroy."
    }
}
