import Foundation
import KumoManifest
import KumoPlan

/// A service as the runtime runs it: the typed ``Service`` with its code directory made
/// absolute and the secrets it names. `${port}` is each replica's own, so the command, the
/// environment and an exec healthcheck are resolved per replica.
public struct ServiceConfig: Sendable, Equatable {
    public let service: Service
    public let codeDirectory: String
    public let codeHash: String?
    /// The values of the secrets the service names (and no others).
    private let secrets: [String: String]
    /// Identifies the replicas' version: replicas of another revision are rolled.
    public let revision: String

    public var name: String { service.name }
    public var port: Int? { service.port }
    public var replicas: Int { service.replicas }
    public var memoryMB: Int { service.resources.memory }
    public var cpu: Double { service.resources.cpu }
    public var healthcheck: Healthcheck? { service.healthcheck }
    public var restart: Service.RestartPolicy { service.restart }
    public var stopGracePeriod: Swift.Duration { service.stopGracePeriod.duration }

    public init(_ service: Service, codeHash: String?, projectDirectory: String, secrets: [String: String]) throws(MissingSecret) {
        self.service = service
        self.codeHash = codeHash
        codeDirectory = service.code.map { ResourceSpec.codePath($0, in: projectDirectory) } ?? projectDirectory
        var needed: [String: String] = [:]
        for name in ResourceSpec.service(service).secretNames {
            guard let value = secrets[name] else { throw MissingSecret(name: name) }
            needed[name] = value
        }
        self.secrets = needed
        revision = Revision.of(service.configValue, codeHash: codeHash, secrets: needed)
    }

    /// True when this config differs from `previous` in `replicas` alone: same spec
    /// otherwise, same code, same secret values.
    func isScale(of previous: ServiceConfig) -> Bool {
        service.differsOnlyInReplicas(from: previous.service) && codeHash == previous.codeHash && secrets == previous.secrets
    }

    /// The replica's argv.
    func command(port: Int) -> [String] { service.command.map { resolve($0, port: port) } }

    /// The replica's declared environment.
    func environment(port: Int) -> [String: String] { service.environment.mapValues { resolve($0, port: port) } }

    /// The argv of an exec healthcheck against the replica on `port`.
    func probeCommand(port: Int) -> [String] {
        guard case .exec(let argv)? = service.healthcheck?.probe else { return [] }
        return argv.map { resolve($0, port: port) }
    }

    /// Every secret was checked at init, so resolving cannot fail.
    private func resolve(_ text: Text, port: Int) -> String {
        (try? text.resolved(secrets: secrets, port: port)) ?? ""
    }
}
