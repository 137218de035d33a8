import KumoManifest

/// A resource as the manifest wants it: its typed spec, the canonical form derived from it,
/// and what it depends on.
public struct DesiredResource: Sendable, Equatable {
    public let address: String
    public let kind: ResourceKind
    public let name: String
    /// The resource as every layer reads it.
    public let spec: ResourceSpec
    /// The spec in manifest form (defaults applied, secrets as `${secret:NAME}`): what is
    /// hashed, diffed, shown and stored. Derived from `spec`, once.
    public let canonical: ConfigValue
    /// `sha256:` of the canonical spec's JSON.
    public let specHash: String
    /// `sha256:` of the `code:` directory's contents, nil when the resource has no code.
    public var codeHash: String?
    /// The secrets the spec names, sorted.
    public let secretNames: [String]
    /// Addresses this resource needs before it can be applied, sorted.
    public var dependencies: [String]

    public init(spec: ResourceSpec, codeHash: String? = nil, dependencies: [String] = []) {
        self.init(spec: spec, canonical: spec.canonical, codeHash: codeHash, dependencies: dependencies)
    }

    /// A resource whose canonical form (and perhaps its hash) is already at hand, as in a saved
    /// plan: `canonical` must be `spec.canonical`, `specHash` its hash.
    init(spec: ResourceSpec, canonical: ConfigValue, specHash: String? = nil, codeHash: String?, dependencies: [String]) {
        self.spec = spec
        self.address = spec.address
        self.kind = spec.kind
        self.name = spec.name
        self.secretNames = spec.secretNames
        self.canonical = canonical
        self.specHash = specHash ?? Hashing.specHash(canonical)
        self.codeHash = codeHash
        self.dependencies = dependencies
    }
}

/// What the state says about an applied resource.
public struct ResourceRecord: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        /// Applied and, as far as the last apply knows, running as specified.
        case applied
        /// An apply started changing it and did not finish: the next plan replaces it.
        case tainted
    }

    public var address: String
    public var kind: ResourceKind
    public var name: String
    public var spec: ConfigValue
    public var specHash: String
    public var codeHash: String?
    /// Secret name → salted hash of the value it was applied with (`SecretHash.text`).
    public var secrets: [String: String]
    public var dependencies: [String]
    public var status: Status
    /// The state serial of the write that applied this resource.
    public var appliedSerial: Int

    /// The typed spec, read back from its canonical form (only where a layer needs it: most
    /// records of a plan are compared by hash and never decoded).
    public func decodedSpec() throws(ResourceSpec.DecodingError) -> ResourceSpec {
        try ResourceSpec(kind: kind, name: name, canonical: spec)
    }

    public init(address: String, kind: ResourceKind, name: String, spec: ConfigValue, specHash: String, codeHash: String?, secrets: [String: String], dependencies: [String], status: Status, appliedSerial: Int) {
        self.address = address
        self.kind = kind
        self.name = name
        self.spec = spec
        self.specHash = specHash
        self.codeHash = codeHash
        self.secrets = secrets
        self.dependencies = dependencies
        self.status = status
        self.appliedSerial = appliedSerial
    }
}

/// The state as the planner sees it: lineage, serial and the applied resources by address.
public struct StateSnapshot: Sendable, Equatable {
    /// Nil until the first write creates the state.
    public var lineage: String?
    public var serial: Int
    public var resources: [String: ResourceRecord]

    public init(lineage: String? = nil, serial: Int = 0, resources: [String: ResourceRecord] = [:]) {
        self.lineage = lineage
        self.serial = serial
        self.resources = resources
    }

    public static let empty = StateSnapshot()

    public var isEmpty: Bool { lineage == nil && resources.isEmpty }
}
