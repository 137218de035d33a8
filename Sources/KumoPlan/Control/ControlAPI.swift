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

        /// A strategy this runtime does not know (from a newer client) counts as none.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            spec = try c.decode(ConfigValue.self, forKey: .spec)
            codeHash = try c.decodeIfPresent(String.self, forKey: .codeHash)
            secrets = try c.decodeIfPresent([String: String].self, forKey: .secrets) ?? [:]
            updateStrategy = try c.decodeIfPresent(String.self, forKey: .updateStrategy).flatMap(UpdateStrategy.init(rawValue:))
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
            /// How workers and replicas are isolated, or why they are not (empty from a
            /// runtime older than isolation).
            public var isolation: String

            public init(pid: Int32, gatewayPort: Int, startedAt: String, projectDirectory: String, version: String, isolation: String) {
                self.pid = pid
                self.isolation = isolation
                self.gatewayPort = gatewayPort
                self.startedAt = startedAt
                self.projectDirectory = projectDirectory
                self.version = version
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                pid = try c.decode(Int32.self, forKey: .pid)
                gatewayPort = try c.decode(Int.self, forKey: .gatewayPort)
                startedAt = try c.decode(String.self, forKey: .startedAt)
                projectDirectory = try c.decode(String.self, forKey: .projectDirectory)
                version = try c.decode(String.self, forKey: .version)
                isolation = try c.decodeIfPresent(String.self, forKey: .isolation) ?? ""
            }

            enum CodingKeys: String, CodingKey {
                case pid, version, isolation
                case gatewayPort = "gateway_port"
                case startedAt = "started_at"
                case projectDirectory = "project_dir"
            }
        }

        /// A function's workers and calls.
        public struct FunctionDetail: Sendable, Codable, Equatable {
            public var warm, busy, starting, queued: Int
            public var invocations, errors, throttles, coldStarts: Int
            public var lastError: String?
            public var pids: [Int32]

            public init(warm: Int, busy: Int, starting: Int, queued: Int, invocations: Int, errors: Int, throttles: Int, coldStarts: Int, lastError: String?, pids: [Int32]) {
                self.warm = warm
                self.busy = busy
                self.starting = starting
                self.queued = queued
                self.invocations = invocations
                self.errors = errors
                self.throttles = throttles
                self.coldStarts = coldStarts
                self.lastError = lastError
                self.pids = pids
            }

            enum CodingKeys: String, CodingKey {
                case warm, busy, starting, queued, invocations, errors, throttles, pids
                case coldStarts = "cold_starts"
                case lastError = "last_error"
            }

            /// Every key is written, `null` included, as the status documents them.
            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(warm, forKey: .warm)
                try c.encode(busy, forKey: .busy)
                try c.encode(starting, forKey: .starting)
                try c.encode(queued, forKey: .queued)
                try c.encode(invocations, forKey: .invocations)
                try c.encode(errors, forKey: .errors)
                try c.encode(throttles, forKey: .throttles)
                try c.encode(coldStarts, forKey: .coldStarts)
                try c.encode(lastError, forKey: .lastError)
                try c.encode(pids, forKey: .pids)
            }
        }

        /// A service's replicas and the traffic through its front port.
        public struct ServiceDetail: Sendable, Codable, Equatable {
            public var replicasReady: Int
            public var replicas: Int
            public var ports: [Int]
            public var pids: [Int32]
            public var lastError: String?
            public var requestsPerSecond: Double
            public var inFlight: Int
            public var requests: Int
            public var failedRequests: Int
            /// vCPUs each replica may use, and how the limit is enforced on this machine.
            public var cpu: Double
            public var cpuLimit: String
            public var replicaDetail: [Replica]

            public struct Replica: Sendable, Codable, Equatable {
                public var replica: Int
                public var state: String
                public var port: Int
                public var pid: Int32?
                public var inFlight: Int
                public var restarts: Int
                public var cgroup: String?
                public var lastExit: String?
                public var recentStderr: [String]

                public init(replica: Int, state: String, port: Int, pid: Int32?, inFlight: Int, restarts: Int, cgroup: String?, lastExit: String?, recentStderr: [String]) {
                    self.replica = replica
                    self.state = state
                    self.port = port
                    self.pid = pid
                    self.inFlight = inFlight
                    self.restarts = restarts
                    self.cgroup = cgroup
                    self.lastExit = lastExit
                    self.recentStderr = recentStderr
                }

                enum CodingKeys: String, CodingKey {
                    case replica, state, port, pid, restarts, cgroup
                    case inFlight = "in_flight"
                    case lastExit = "last_exit"
                    case recentStderr = "recent_stderr"
                }

                public func encode(to encoder: any Encoder) throws {
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(replica, forKey: .replica)
                    try c.encode(state, forKey: .state)
                    try c.encode(port, forKey: .port)
                    try c.encode(pid, forKey: .pid)
                    try c.encode(inFlight, forKey: .inFlight)
                    try c.encode(restarts, forKey: .restarts)
                    try c.encode(cgroup, forKey: .cgroup)
                    try c.encode(lastExit, forKey: .lastExit)
                    try c.encode(recentStderr, forKey: .recentStderr)
                }
            }

            public init(replicasReady: Int, replicas: Int, ports: [Int], pids: [Int32], lastError: String?, requestsPerSecond: Double, inFlight: Int,
                        requests: Int, failedRequests: Int, cpu: Double, cpuLimit: String, replicaDetail: [Replica]) {
                self.replicasReady = replicasReady
                self.replicas = replicas
                self.ports = ports
                self.pids = pids
                self.lastError = lastError
                self.requestsPerSecond = requestsPerSecond
                self.inFlight = inFlight
                self.requests = requests
                self.failedRequests = failedRequests
                self.cpu = cpu
                self.cpuLimit = cpuLimit
                self.replicaDetail = replicaDetail
            }

            enum CodingKeys: String, CodingKey {
                case replicas, ports, pids, requests, cpu
                case replicasReady = "replicas_ready"
                case lastError = "last_error"
                case requestsPerSecond = "requests_per_second"
                case inFlight = "in_flight"
                case failedRequests = "failed_requests"
                case cpuLimit = "cpu_limit"
                case replicaDetail = "replica_detail"
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(replicasReady, forKey: .replicasReady)
                try c.encode(replicas, forKey: .replicas)
                try c.encode(ports, forKey: .ports)
                try c.encode(pids, forKey: .pids)
                try c.encode(lastError, forKey: .lastError)
                try c.encode(requestsPerSecond, forKey: .requestsPerSecond)
                try c.encode(inFlight, forKey: .inFlight)
                try c.encode(requests, forKey: .requests)
                try c.encode(failedRequests, forKey: .failedRequests)
                try c.encode(cpu, forKey: .cpu)
                try c.encode(cpuLimit, forKey: .cpuLimit)
                try c.encode(replicaDetail, forKey: .replicaDetail)
            }
        }

        /// What the runtime reports beyond the state of a resource, by kind: one flat object
        /// (decoded by ``Resource``, which knows the kind).
        public enum Detail: Sendable, Equatable, Encodable {
            case function(FunctionDetail)
            case service(ServiceDetail)
            case rule(RuleDetail)
            case scaling(ScalingDetail)
            /// A scaling policy (registered), or a resource that failed.
            case other(lastError: String?)

            public var lastError: String? {
                switch self {
                case .function(let f): f.lastError
                case .service(let s): s.lastError
                case .rule(let r): r.lastError
                case .scaling(let p): p.lastError
                case .other(let error): error
                }
            }

            /// The pids of the resource's processes.
            public var pids: [Int32] {
                switch self {
                case .function(let f): f.pids
                case .service(let s): s.pids
                case .rule, .scaling, .other: []
                }
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .function(let f): try c.encode(f)
                case .service(let s): try c.encode(s)
                case .rule(let r): try c.encode(r)
                case .scaling(let p): try c.encode(p)
                case .other(let error): try c.encode(Resource.OtherDetail(lastError: error))
                }
            }
        }

        /// One resource as the runtime holds it.
        public struct Resource: Sendable, Codable, Equatable {
            public var address: String
            public var kind: ResourceKind
            public var state: String
            public var specHash: String
            public var codeHash: String?
            public var detail: Detail

            public init(address: String, kind: ResourceKind, state: String, specHash: String, codeHash: String?, detail: Detail) {
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

            struct OtherDetail: Codable {
                var lastError: String?
                enum CodingKeys: String, CodingKey { case lastError = "last_error" }
            }

            /// `detail` is one flat object whose shape the kind (and state) decides.
            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                address = try c.decode(String.self, forKey: .address)
                kind = try c.decode(ResourceKind.self, forKey: .kind)
                state = try c.decode(String.self, forKey: .state)
                specHash = try c.decode(String.self, forKey: .specHash)
                codeHash = try c.decodeIfPresent(String.self, forKey: .codeHash)
                // A runtime from before the event bus and live scaling reports rules and policies
                // as registered only: their detail is then the plain one.
                func decoded<T: Decodable>(_ type: T.Type, _ wrap: (T) -> Detail) throws -> Detail {
                    if let value = try? c.decode(T.self, forKey: .detail) { return wrap(value) }
                    return .other(lastError: try c.decode(OtherDetail.self, forKey: .detail).lastError)
                }
                switch (kind, state) {
                case (_, "failed"): detail = .other(lastError: try c.decode(OtherDetail.self, forKey: .detail).lastError)
                case (.scaling, _): detail = try decoded(ScalingDetail.self, Detail.scaling)
                case (.rule, _): detail = try decoded(RuleDetail.self, Detail.rule)
                case (.function, _): detail = .function(try c.decode(FunctionDetail.self, forKey: .detail))
                case (.service, _): detail = .service(try c.decode(ServiceDetail.self, forKey: .detail))
                }
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(address, forKey: .address)
                try c.encode(kind, forKey: .kind)
                try c.encode(state, forKey: .state)
                try c.encode(specHash, forKey: .specHash)
                try c.encode(codeHash, forKey: .codeHash)
                try c.encode(detail, forKey: .detail)
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

    /// Indented JSON in the style of every other kumo output (`"key": value`, keys sorted).
    public static func pretty(_ value: some Encodable) -> String {
        let compact = String(decoding: encode(value), as: UTF8.self)
        return ((try? ConfigValue(json: compact)) ?? .null).json()
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
    /// The loopback port of `GET /metrics` (nil from a runtime older than metrics).
    public var metricsPort: Int?

    enum CodingKeys: String, CodingKey {
        case pid, token, version
        case metricsPort = "metrics_port"
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
