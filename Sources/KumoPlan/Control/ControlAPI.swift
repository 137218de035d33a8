import Foundation
import KumoManifest

/// The documents the client side (`kumo apply`, `status`, `invoke`) and the runtime daemon
/// exchange: `.kumo/runtime.json` and the control API's bodies. Both sides read them through
/// these types; their speed does not matter, so they are plain `Codable`.
public enum ControlAPI {
    /// `PUT /v1/resources/ADDRESS`: apply one resource.
    public struct DeployRequest: Sendable, Codable, Equatable {
        /// The resource's canonical spec; the runtime reads it back into its typed form.
        public var spec: ConfigValue
        public var codeHash: String?
        /// The values of the secrets the spec names, and no others.
        public var secrets: [String: String]
        /// For an update of a service, what the plan decided; absent means a rolling update.
        public var updateStrategy: UpdateStrategy?

        public init(spec: ConfigValue, codeHash: String?, secrets: [String: String], updateStrategy: UpdateStrategy?) {
            self.spec = spec
            self.codeHash = codeHash
            self.secrets = secrets
            self.updateStrategy = updateStrategy
        }

        enum CodingKeys: String, CodingKey {
            case spec, secrets
            case codeHash = "code_hash"
            case updateStrategy = "update_strategy"
        }
    }

    /// Any answer that is not a success: `{"error": "…"}`.
    public struct ErrorBody: Sendable, Codable, Equatable {
        public var error: String
        public init(error: String) { self.error = error }
    }

    /// `GET /v1/status`.
    public struct Status: Sendable, Codable, Equatable {
        public struct Daemon: Sendable, Codable, Equatable {
            public var pid: Int32
            public var gatewayPort: Int
            public var startedAt: String
            public var projectDirectory: String
            public var version: String

            public init(pid: Int32, gatewayPort: Int, startedAt: String, projectDirectory: String, version: String) {
                self.pid = pid
                self.gatewayPort = gatewayPort
                self.startedAt = startedAt
                self.projectDirectory = projectDirectory
                self.version = version
            }

            enum CodingKeys: String, CodingKey {
                case pid, version
                case gatewayPort = "gateway_port"
                case startedAt = "started_at"
                case projectDirectory = "project_dir"
            }
        }

        /// One resource as the runtime holds it; `detail` depends on the kind (workers and
        /// calls of a function, replicas and requests of a service).
        public struct Resource: Sendable, Codable, Equatable {
            public var address: String
            public var kind: ResourceKind
            public var state: String
            public var specHash: String
            public var codeHash: String?
            public var detail: ConfigValue

            public init(address: String, kind: ResourceKind, state: String, specHash: String, codeHash: String?, detail: ConfigValue) {
                self.address = address
                self.kind = kind
                self.state = state
                self.specHash = specHash
                self.codeHash = codeHash
                self.detail = detail
            }

            enum CodingKeys: String, CodingKey {
                case address, kind, state, detail
                case specHash = "spec_hash"
                case codeHash = "code_hash"
            }
        }

        public var runtime: Daemon
        public var resources: [Resource]

        public init(runtime: Daemon, resources: [Resource]) {
            self.runtime = runtime
            self.resources = resources
        }
    }

    /// Compact JSON of a control document.
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Sequence<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}

extension UpdateStrategy: Codable {}

/// Where a running runtime can be reached: `.kumo/runtime.json` (mode 0600), written by the
/// daemon once it serves what the state records, read by every client command.
public struct RuntimeInfo: Sendable, Equatable, Codable {
    public var pid: Int32
    public var controlPort: Int
    public var gatewayPort: Int
    public var token: String
    public var projectDirectory: String
    public var statePath: String
    public var startedAt: String
    public var version: String

    enum CodingKeys: String, CodingKey {
        case pid, token, version
        case controlPort = "control_port"
        case gatewayPort = "gateway_port"
        case projectDirectory = "project_dir"
        case statePath = "state_path"
        case startedAt = "started_at"
    }

    public static func path(projectDirectory: String) -> String { projectDirectory + "/.kumo/runtime.json" }

    public init(pid: Int32, controlPort: Int, gatewayPort: Int, token: String, projectDirectory: String, statePath: String, startedAt: String, version: String) {
        self.pid = pid
        self.controlPort = controlPort
        self.gatewayPort = gatewayPort
        self.token = token
        self.projectDirectory = projectDirectory
        self.statePath = statePath
        self.startedAt = startedAt
        self.version = version
    }

    /// Reads the file; nil when it is missing, unreadable or names a process that is gone.
    public static func load(projectDirectory: String) -> RuntimeInfo? {
        guard let data = FileManager.default.contents(atPath: path(projectDirectory: projectDirectory)),
              let info = try? JSONDecoder().decode(RuntimeInfo.self, from: data) else { return nil }
        return RuntimeInfo.isRunning(info.pid) ? info : nil
    }

    /// True while `pid` runs (a zombie, killed but not yet reaped, does not count).
    public static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// Writes the file atomically with mode 0600 (it holds the control API's token).
    public func write() throws {
        let path = RuntimeInfo.path(projectDirectory: projectDirectory)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        chmod(temporary, 0o600)
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    /// What every client command says when no runtime serves the project.
    public static func notRunning(projectDirectory: String) -> String {
        "no Kumo runtime is running for \(projectDirectory) (no live .kumo/runtime.json); start one with 'kumo runtime start', or use 'kumo up'"
    }
}
