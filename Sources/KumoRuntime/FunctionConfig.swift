import Foundation
import KumoManifest
import KumoPlan

/// A function as the runtime runs it: the applied spec with paths made absolute and every
/// `${secret:…}` resolved. Built from the same canonical spec the state stores.
public struct FunctionConfig: Sendable, Equatable {
    public var name: String
    public var runtime: FunctionRuntime
    public var handler: String?
    /// Absolute working directory of the workers.
    public var codeDirectory: String
    public var command: [String]
    public var memoryMB: Int
    public var timeout: Swift.Duration
    public var environment: [String: String]
    public var concurrency: Int
    public var minInstances: Int
    public var idleTimeout: Swift.Duration
    public var routes: [Route]
    /// Changes whenever anything that shapes a worker changes (spec or code).
    public var revision: String

    public struct Route: Sendable, Equatable, Hashable {
        public var method: String
        public var path: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(name: String, spec: ConfigValue, codeHash: String?, projectDirectory: String, secrets: [String: String]) throws {
        func string(_ key: String) -> String? { spec[key]?.stringValue }
        func duration(_ key: String, _ fallback: KumoManifest.Duration) -> Swift.Duration { SpecReading.duration(spec[key], fallback) }
        guard let runtimeName = string("runtime"), let runtime = FunctionRuntime(rawValue: runtimeName) else {
            throw Failure(description: "function '\(name)': unknown runtime")
        }
        self.name = name
        self.runtime = runtime
        handler = try string("handler").map { try ManifestText.resolve($0, secrets: secrets) }
        let code = try string("code").map { try ManifestText.resolve($0, secrets: secrets) }
        codeDirectory = code.map { $0.hasPrefix("/") ? $0 : projectDirectory + "/" + $0 } ?? projectDirectory
        command = try (spec["command"]?.arrayValue ?? []).map { try ManifestText.resolve($0.stringValue ?? "", secrets: secrets) }
        memoryMB = spec["memory"]?.intValue ?? Function.defaultMemory
        timeout = duration("timeout", Function.defaultTimeout)
        var environment: [String: String] = [:]
        for (key, value) in spec["environment"]?.objectValue ?? [] {
            environment[key] = try ManifestText.resolve(value.stringValue ?? "", secrets: secrets)
        }
        self.environment = environment
        concurrency = spec["concurrency"]?.intValue ?? Function.defaultConcurrency
        minInstances = spec["minInstances"]?.intValue ?? 0
        idleTimeout = duration("idleTimeout", Function.defaultIdleTimeout)
        routes = (spec["events"]?.arrayValue ?? []).compactMap { event in
            guard let http = event["http"], let method = http["method"]?.stringValue, let path = http["path"]?.stringValue else { return nil }
            return Route(method: method.uppercased(), path: (try? ManifestText.resolve(path, secrets: [:])) ?? path)
        }
        revision = SpecReading.revision(spec, codeHash: codeHash, secrets: secrets)
    }
}

/// What function and service configs read from an applied spec the same way.
enum SpecReading {
    /// A duration field (`250ms`, `10s`), or `fallback` when absent.
    static func duration(_ value: ConfigValue?, _ fallback: KumoManifest.Duration) -> Swift.Duration {
        .milliseconds((value?.stringValue.flatMap { KumoManifest.Duration(parsing: $0) } ?? fallback).milliseconds)
    }

    /// Changes whenever anything that shapes a process changes: the spec, the code or a
    /// secret's value.
    static func revision(_ spec: ConfigValue, codeHash: String?, secrets: [String: String]) -> String {
        Hashing.sha256((spec.compactJSON(sortedKeys: true) + (codeHash ?? "") + secrets.keys.sorted().map { $0 + "=" + secrets[$0]! }.joined()).utf8)
    }
}

/// Manifest text as the state stores it: `$${` is a literal `${`, `${secret:NAME}` a secret,
/// `${port}` the replica's port.
public enum ManifestText {
    public struct MissingSecret: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "secret '\(name)' is not available (set it in the environment of kumo apply or of the runtime)" }
    }

    public static func resolve(_ text: String, secrets: [String: String], port: Int? = nil) throws -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let tail = rest[dollar...]
            if tail.hasPrefix("$${") {
                out += "${"
                rest = tail.dropFirst(3)
            } else if tail.hasPrefix("${secret:"), let close = tail.firstIndex(of: "}") {
                let name = String(tail[tail.index(tail.startIndex, offsetBy: 9)..<close])
                guard let value = secrets[name] else { throw MissingSecret(name: name) }
                out += value
                rest = tail[tail.index(after: close)...]
            } else if tail.hasPrefix("${port}") {
                out += port.map(String.init) ?? "${port}"
                rest = tail.dropFirst(7)
            } else {
                out += "$"
                rest = tail.dropFirst()
            }
        }
        return out + rest
    }

    /// The secret names a spec refers to.
    public static func secretNames(in value: ConfigValue) -> Set<String> {
        switch value {
        case .string(let s):
            var names = Set<String>()
            var rest = Substring(s)
            while let range = rest.range(of: "${secret:") {
                if range.lowerBound > rest.startIndex, rest[rest.index(before: range.lowerBound)] == "$" {
                    rest = rest[range.upperBound...]
                    continue
                }
                guard let close = rest[range.upperBound...].firstIndex(of: "}") else { break }
                names.insert(String(rest[range.upperBound..<close]))
                rest = rest[close...]
            }
            return names
        case .array(let items): return items.reduce(into: Set()) { $0.formUnion(secretNames(in: $1)) }
        case .object(let pairs): return pairs.reduce(into: Set()) { $0.formUnion(secretNames(in: $1.1)) }
        default: return []
        }
    }
}
