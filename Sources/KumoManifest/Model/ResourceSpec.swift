/// The four kinds of resource a manifest declares; the address of a resource is `KIND.NAME`.
public enum ResourceKind: String, Sendable, CaseIterable, Comparable, Codable {
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

/// One resource in its typed form: the contract every layer reads, from the loader to the
/// process that enforces it.
///
/// Its canonical form (``canonical``: manifest form, defaults applied, secrets as
/// `${secret:NAME}`) is what state, saved plans and the control API store and send, and what
/// hashing, diffing and display use; ``init(kind:name:canonical:)`` reads it back through the
/// manifest reader, so a field is read and defaulted in one place only.
public indirect enum ResourceSpec: Sendable, Equatable {
    case function(Function)
    case service(Service)
    case scaling(ScalingPolicy)
    case rule(Rule)

    public var kind: ResourceKind {
        switch self {
        case .function: .function
        case .service: .service
        case .scaling: .scaling
        case .rule: .rule
        }
    }

    public var name: String {
        switch self {
        case .function(let f): f.name
        case .service(let s): s.name
        case .scaling(let p): p.name
        case .rule(let r): r.name
        }
    }

    public var address: String { "\(kind.rawValue).\(name)" }

    /// The manifest form of the resource: the one place its JSON shape is defined.
    public var canonical: ConfigValue {
        switch self {
        case .function(let f): f.configValue
        case .service(let s): s.configValue
        case .scaling(let p): p.configValue
        case .rule(let r): r.configValue
        }
    }

    /// A `code:` directory (relative to the project directory, as the model keeps it) as a path
    /// to read or run from.
    public static func codePath(_ code: String, in projectDirectory: String) -> String {
        code.hasPrefix("/") ? code : projectDirectory + "/" + code
    }

    /// The `code:` directory, relative to the project directory.
    public var code: String? {
        switch self {
        case .function(let f): f.code
        case .service(let s): s.code
        case .scaling, .rule: nil
        }
    }

    /// The secrets the resource names, sorted.
    public var secretNames: [String] {
        let texts: [Text]
        switch self {
        case .function(let f): texts = f.command + f.environment.values
        case .service(let s):
            var all = s.command + s.environment.values
            if case .exec(let argv)? = s.healthcheck?.probe { all += argv }
            texts = all
        case .scaling, .rule: texts = []
        }
        return Set(texts.flatMap(\.secretNames)).sorted()
    }
}

/// A `${secret:NAME}` whose value is not available where the text must be resolved.
public struct MissingSecret: Error, Sendable, Equatable, CustomStringConvertible {
    public var name: String

    public init(name: String) { self.name = name }

    public var description: String {
        "secret '\(name)' is not available (set it in the environment of kumo apply or of the runtime)"
    }
}

extension Service {
    /// True when `other` differs from this service in `replicas` at most: such a change
    /// scales in place, anything else rolls the replicas.
    public func differsOnlyInReplicas(from other: Service) -> Bool {
        var same = other
        same.replicas = replicas
        return same.configValue == configValue
    }
}
