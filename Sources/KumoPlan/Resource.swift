import KumoManifest

/// The four kinds of resource a manifest declares; the address of a resource is `KIND.NAME`.
public enum ResourceKind: String, Sendable, CaseIterable, Comparable {
    case function, service, scaling, rule

    public static func < (lhs: ResourceKind, rhs: ResourceKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Splits `function.createOrder` into its kind and name.
    public static func parse(address: String) -> (kind: ResourceKind, name: String)? {
        guard let dot = address.firstIndex(of: ".") else { return nil }
        guard let kind = ResourceKind(rawValue: String(address[..<dot])) else { return nil }
        let name = String(address[address.index(after: dot)...])
        return name.isEmpty ? nil : (kind, name)
    }
}

/// A resource as the manifest wants it: its canonical spec and what it depends on.
public struct DesiredResource: Sendable, Equatable {
    public var address: String
    public var kind: ResourceKind
    public var name: String
    /// The resource in manifest form (defaults applied, secrets as `${secret:NAME}`).
    public var spec: ConfigValue
    /// `sha256:` of the spec's canonical JSON.
    public var specHash: String
    /// `sha256:` of the `code:` directory's contents, nil when the resource has no code.
    public var codeHash: String?
    /// The secrets the spec names, sorted.
    public var secretNames: [String]
    /// Addresses this resource needs before it can be applied, sorted.
    public var dependencies: [String]

    public init(address: String, kind: ResourceKind, name: String, spec: ConfigValue, codeHash: String? = nil, secretNames: [String] = [], dependencies: [String] = []) {
        self.address = address
        self.kind = kind
        self.name = name
        self.spec = spec
        self.specHash = Hashing.specHash(spec)
        self.codeHash = codeHash
        self.secretNames = secretNames
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
