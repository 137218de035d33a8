import KumoEvents
import KumoManifest

/// Helpers both renderers share: names on the engines, `${service:NAME.url}` and durations.
enum RenderSupport {
    /// The port a container listens on when its service declares none (`${port}` is replaced by it).
    static let defaultContainerPort = 8080

    /// The port `${port}` stands for inside a service's container.
    static func containerPort(_ service: Service) -> Int { service.port ?? defaultContainerPort }

    /// A CloudFormation logical ID part: `big-order` → `BigOrder`, `createOrder` → `CreateOrder`.
    static func pascalCase(_ name: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count)
        var upperNext = true
        for byte in name.utf8 {
            let lower = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
            guard lower || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) else {
                upperNext = true
                continue
            }
            out.append(upperNext && lower ? byte - 32 : byte)
            upperNext = false
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A Kubernetes object name (DNS-1035 label): `createOrder` → `create-order`, `big_order` →
    /// `big-order`; nil when none can be made (it would be empty or longer than 63).
    static func kubernetesName(_ name: String) -> String? {
        var out = ""
        var previousWasLowerOrDigit = false
        for ch in name {
            if ch.isASCII, ch.isUppercase {
                if previousWasLowerOrDigit { out += "-" }
                out += ch.lowercased()
                previousWasLowerOrDigit = false
            } else if ch.isASCII, ch.isLowercase || ch.isNumber {
                out.append(ch)
                previousWasLowerOrDigit = true
            } else {
                if !out.hasSuffix("-") { out += "-" }
                previousWasLowerOrDigit = false
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        while out.hasPrefix("-") { out.removeFirst() }
        guard let first = out.first, first.isLetter, out.count <= 63 else { return nil }
        return out
    }

    /// A piece of a literal after `${service:NAME.url}` is found again in it.
    enum Segment: Equatable {
        case text(String)
        /// The URL of a service the resource references.
        case serviceURL(name: String, port: Int)
    }

    /// The model keeps `${service:NAME.url}` resolved to the local front address
    /// (`http://127.0.0.1:PORT`); ports are unique per project, so each such address of a
    /// service the resource references (``Project/serviceReferences``) is that service's URL.
    static func segments(_ literal: String, services: [Int: String]) -> [Segment] {
        let prefix = "http://127.0.0.1:"
        guard !services.isEmpty, literal.contains(prefix) else { return [.text(literal)] }
        var result: [Segment] = []
        var rest = Substring(literal)
        while let found = rest.firstRange(of: prefix) {
            let digits = rest[found.upperBound...].prefix { $0.isASCII && $0.isNumber }
            if let port = Int(digits), let name = services[port] {
                result.append(.text(String(rest[..<found.lowerBound])))
                result.append(.serviceURL(name: name, port: port))
                rest = rest[digits.endIndex...]
            } else {
                result.append(.text(String(rest[..<found.upperBound])))
                rest = rest[found.upperBound...]
            }
        }
        result.append(.text(String(rest)))
        return result.filter { $0 != .text("") }
    }

    /// Ports of the services `address` references, for ``segments(_:services:)``.
    static func referencedPorts(of address: String, in project: Project, services byName: [String: Service]) -> [Int: String] {
        var ports: [Int: String] = [:]
        for name in project.serviceReferences[address] ?? [] {
            if let port = byName[name]?.port { ports[port] = name }
        }
        return ports
    }

    /// True when a literal still holds the local address after the URLs were mapped: a
    /// `${service:NAME.host}` or `.port` that no engine can resolve.
    static func holdsLocalAddress(_ segments: [Segment]) -> Bool {
        segments.contains { if case .text(let s) = $0 { s.contains("127.0.0.1") } else { false } }
    }

    /// Literal text inside `Fn::Sub`: `${` is written `${!`.
    static func escapingSub(_ text: String) -> String {
        text.utf8.contains(UInt8(ascii: "$")) ? text.replacing("${", with: "${!") : text
    }

    /// Whole seconds of `duration` fitted to `range`, and why it changed (nil when it did not).
    static func seconds(_ duration: KumoManifest.Duration, in range: ClosedRange<Int>) -> (value: Int, change: String?) {
        let exact = duration.milliseconds % 1000 == 0
        let rounded = Int(min(Int64(Int.max / 2), (duration.milliseconds + 999) / 1000))
        let fitted = min(max(rounded, range.lowerBound), range.upperBound)
        if fitted != rounded {
            return (fitted, "\(duration) is outside \(range.lowerBound)–\(range.upperBound) s; rendered as \(fitted)s")
        }
        return (fitted, exact ? nil : "\(duration) is rounded up to whole seconds: \(fitted)s")
    }

    /// A JSON value (an event pattern) as written: keys in order, integers as integers.
    static func verbatim(_ json: JSON) -> ConfigValue {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n, let text): return Int(text).map(ConfigValue.int) ?? .double(n)
        case .string(let s): return .string(s)
        case .array(let items): return .array(items.map(verbatim))
        case .object(let pairs): return .object(pairs.map { ($0.key, verbatim($0.value)) })
        }
    }

    /// A number as the manifest writes it: `0.7`, `20`.
    static func number(_ value: Double) -> String { ConfigValue.formatDouble(value) }

    /// The load one replica is sized for: the target, or for `linear` maxLoad / maxReplicas.
    static func perReplicaTarget(_ policy: ScalingPolicy) -> (metric: ScalingPolicy.Metric, target: Double, linear: Bool) {
        switch policy.mode {
        case .targetTracking(let metric, let target): return (metric, target, false)
        case .linear(let metric, let maxLoad): return (metric, maxLoad / Double(max(1, policy.maxReplicas)), true)
        }
    }

    /// The warning text for a `linear` policy rendered as target tracking.
    static func linearApproximation(_ policy: ScalingPolicy, target: Double, as what: String) -> String {
        guard case .linear(let metric, let maxLoad) = policy.mode else { return "" }
        return "scaling policy '\(policy.name)': linear R(t) = Rmin + (Rmax − Rmin) · L / \(number(maxLoad)) is rendered as the closest \(what): \(metric.rawValue) \(number(target)) per replica (maxLoad / maxReplicas), which keeps the load per replica near that value instead of following R(t)"
    }
}

extension Project {
    /// The services by name.
    var servicesByName: [String: Service] {
        Dictionary(services.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The scaling policy targeting `address`, if any (one per target).
    func policy(for address: String) -> ScalingPolicy? {
        scaling.first { $0.target == address }
    }
}
