import Foundation
import KumoManifest
import KumoPlan

/// A function as the runtime runs it: the typed ``Function`` with its code directory made
/// absolute and every `${secret:…}` resolved.
public struct FunctionConfig: Sendable, Equatable {
    public let function: Function
    /// Absolute working directory of the workers.
    public let codeDirectory: String
    public let handler: String?
    public let command: [String]
    public let environment: [String: String]
    public let routes: [Route]
    /// Changes whenever anything that shapes a worker changes (spec, code or a secret).
    public let revision: String

    public var name: String { function.name }
    public var runtime: FunctionRuntime { function.runtime }
    public var memoryMB: Int { function.memory }
    public var timeout: Swift.Duration { .milliseconds(function.timeout.milliseconds) }
    public var concurrency: Int { function.concurrency }
    public var minInstances: Int { function.minInstances }
    public var idleTimeout: Swift.Duration { .milliseconds(function.idleTimeout.milliseconds) }

    public struct Route: Sendable, Equatable, Hashable {
        public var method: String
        public var path: String
    }

    public init(_ function: Function, codeHash: String?, projectDirectory: String, secrets: [String: String]) throws(MissingSecret) {
        self.function = function
        codeDirectory = function.code.map { ResourceSpec.codePath($0, in: projectDirectory) } ?? projectDirectory
        handler = function.handler
        command = try function.command.map { text throws(MissingSecret) in try text.resolved(secrets: secrets) }
        var environment: [String: String] = [:]
        for (key, value) in function.environment { environment[key] = try value.resolved(secrets: secrets) }
        self.environment = environment
        routes = function.events.compactMap { event in
            guard case .http(let method, let path) = event else { return nil }
            return Route(method: method.uppercased(), path: path)
        }
        revision = Revision.of(function.configValue, codeHash: codeHash, secrets: secrets)
    }
}

/// The revision of a worker or replica: what function and service configs derive the same way.
enum Revision {
    /// Changes whenever anything that shapes a process changes: the spec, the code or a
    /// secret's value.
    static func of(_ canonical: ConfigValue, codeHash: String?, secrets: [String: String]) -> String {
        Hashing.sha256((canonical.compactJSON(sortedKeys: true) + (codeHash ?? "") + secrets.keys.sorted().map { $0 + "=" + secrets[$0]! }.joined()).utf8)
    }
}
