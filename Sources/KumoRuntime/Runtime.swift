import Foundation
import NIOCore
import HTTPTypes
import Hummingbird
import KumoManifest
import KumoPlan
import KumoState

/// Where a running runtime can be reached: `.kumo/runtime.json` (mode 0600).
public struct RuntimeInfo: Sendable, Equatable {
    public var pid: Int32
    public var controlPort: Int
    public var gatewayPort: Int
    public var token: String
    public var projectDirectory: String
    public var statePath: String
    public var startedAt: String
    public var version: String

    public static func path(projectDirectory: String) -> String { projectDirectory + "/.kumo/runtime.json" }

    public var jsonValue: ConfigValue {
        .object([
            ("pid", .int(Int(pid))), ("control_port", .int(controlPort)), ("gateway_port", .int(gatewayPort)), ("token", .string(token)),
            ("project_dir", .string(projectDirectory)), ("state_path", .string(statePath)), ("started_at", .string(startedAt)), ("version", .string(version)),
        ])
    }

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
        guard let text = try? String(contentsOfFile: path(projectDirectory: projectDirectory), encoding: .utf8),
              let value = try? ConfigValue(json: text), let pid = value["pid"]?.intValue, let control = value["control_port"]?.intValue,
              let gateway = value["gateway_port"]?.intValue, let token = value["token"]?.stringValue else { return nil }
        guard RuntimeInfo.isRunning(pid_t(pid)) else { return nil }
        return RuntimeInfo(pid: pid_t(pid), controlPort: control, gatewayPort: gateway, token: token,
                           projectDirectory: value["project_dir"]?.stringValue ?? projectDirectory, statePath: value["state_path"]?.stringValue ?? "",
                           startedAt: value["started_at"]?.stringValue ?? "", version: value["version"]?.stringValue ?? "")
    }

    /// True while `pid` runs (a zombie, killed but not yet reaped, does not count).
    public static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    func write() throws {
        let path = RuntimeInfo.path(projectDirectory: projectDirectory)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(jsonValue.json().utf8), attributes: [.posixPermissions: 0o600]) else {
            throw FunctionConfig.Failure(description: "cannot write \(path)")
        }
        chmod(temporary, 0o600)
        rename(temporary, path)
    }
}

/// One resource as the runtime holds it.
public struct RuntimeResourceStatus: Sendable {
    public var address: String
    public var kind: ResourceKind
    public var state: String
    public var specHash: String
    public var codeHash: String?
    public var detail: ConfigValue
}

/// The local runtime: function pools, services, registered rules and scaling policies, the
/// gateway and the control API. One per project directory.
public actor Runtime {
    public struct Options: Sendable {
        public var projectDirectory: String
        public var statePath: String
        public var gatewayPort: Int
        public var controlPort: Int
        public var region: String
        public var version: String
        public var echo: (@Sendable (String, String) -> Void)?

        public init(projectDirectory: String, statePath: String, gatewayPort: Int = 3000, controlPort: Int = 0, region: String = "us-east-1", version: String, echo: (@Sendable (String, String) -> Void)? = nil) {
            self.projectDirectory = projectDirectory
            self.statePath = statePath
            self.gatewayPort = gatewayPort
            self.controlPort = controlPort
            self.region = region
            self.version = version
            self.echo = echo
        }
    }

    public let options: Options
    public nonisolated let region: String
    let logs: LogBook
    let bootstraps: String
    private var pools: [String: FunctionPool] = [:]
    private var services: [String: ServiceSupervisor] = [:]
    private var registered: [String: ConfigValue] = [:]
    private var hashes: [String: (spec: String, code: String?)] = [:]
    private var failures: [String: String] = [:]
    /// The pools and routes as the gateway sees them.
    private let directory = FunctionDirectory()
    private var gateway: (any Channel)?
    private var servers: [HTTPServer] = []
    /// Replica CPU limits (cgroups), found at start.
    private var cpuLimit: CPULimit?
    public private(set) var info: RuntimeInfo?
    private var stopRequested: CheckedContinuation<Void, Never>?
    private var stopping = false

    public init(options: Options) throws {
        self.options = options
        region = options.region
        logs = LogBook(directory: options.projectDirectory + "/.kumo/logs", echo: options.echo)
        guard let bundled = Bundle.module.path(forResource: "Bootstraps", ofType: nil) else {
            throw FunctionConfig.Failure(description: "the runtime bootstraps are missing from this kumo build")
        }
        bootstraps = bundled
    }

    // MARK: Starting and stopping

    /// Stops what a killed runtime left, starts the control API and the gateway, writes
    /// runtime.json and brings up everything the state says is applied.
    @discardableResult
    public func start() async throws -> RuntimeInfo {
        let kumo = options.projectDirectory + "/.kumo"
        try FileManager.default.createDirectory(atPath: kumo + "/runtime", withIntermediateDirectories: true)
        let pidTable = kumo + "/runtime/pids.json"
        for orphan in Registry.reapOrphans(path: pidTable) {
            logs.write("runtime", tag: "runtime", "stopped orphan process group \(orphan.pid) (\(orphan.command)) of \(orphan.owner) left by an earlier runtime")
        }
        Registry.shared.configure(path: pidTable)
        // After the orphans are gone, so that a killed runtime's emptied cgroups can go too.
        let cpuLimit = CPULimit.detect()
        self.cpuLimit = cpuLimit

        let token = Runtime.randomToken()
        let control = try await HTTPServer.start(port: options.controlPort, label: "control") { [weak self] request, _ in
            guard let self else { return Response(status: .serviceUnavailable) }
            return try await self.control(request, token: token)
        }
        servers.append(control)
        let gateway: any Channel
        do {
            let gatewayHandler = Gateway(directory: directory, region: region)
            gateway = try await LoopHTTPHandler.bind(port: options.gatewayPort, on: InvokeLoop.loop) {
                LoopHTTPHandler(limit: FunctionPool.payloadLimit, handle: { request, handler in gatewayHandler.handle(request, handler) })
            }.get()
        } catch {
            control.stop()
            throw FunctionConfig.Failure(description: "the gateway cannot listen on 127.0.0.1:\(options.gatewayPort): \(error); choose another with --gateway-port")
        }
        self.gateway = gateway
        let gatewayPort = gateway.localAddress?.port ?? options.gatewayPort
        let info = RuntimeInfo(pid: getpid(), controlPort: control.port, gatewayPort: gatewayPort, token: token,
                               projectDirectory: options.projectDirectory, statePath: options.statePath,
                               startedAt: FunctionPool.timestamp(), version: options.version)
        self.info = info
        logs.write("runtime", tag: "runtime", "runtime \(getpid()) started: control API 127.0.0.1:\(control.port), gateway 127.0.0.1:\(gatewayPort)")
        logs.write("runtime", tag: "runtime", "service CPU limits: \(cpuLimit.summary)")
        await reconcile()
        // Clients find the runtime only once it serves what the state says is applied.
        try info.write()
        return info
    }

    /// Brings up every resource the state records as applied (after a restart).
    func reconcile() async {
        guard let store = try? StateStore.open(path: options.statePath, create: false), let snapshot = try? store.snapshot() else { return }
        let environment = ProcessInfo.processInfo.environment
        let ordered = Runtime.dependencyOrder(snapshot.resources.values.filter { $0.status == .applied })
        for record in ordered {
            var secrets: [String: String] = [:]
            for name in ManifestText.secretNames(in: record.spec) { secrets[name] = environment[name] }
            do {
                try await deploy(address: record.address, spec: record.spec, codeHash: record.codeHash, secrets: secrets)
                logs.write("runtime", tag: "runtime", "restored \(record.address) from the state")
            } catch {
                failures[record.address] = "\(error)"
                logs.write("runtime", tag: "runtime", "cannot restore \(record.address): \(error)")
            }
        }
    }

    static func dependencyOrder(_ records: [ResourceRecord]) -> [ResourceRecord] {
        var byAddress: [String: ResourceRecord] = [:]
        for record in records { byAddress[record.address] = record }
        var done = Set<String>()
        var ordered: [ResourceRecord] = []
        func visit(_ address: String, _ depth: Int) {
            guard depth < 64, !done.contains(address), let record = byAddress[address] else { return }
            for dependency in record.dependencies { visit(dependency, depth + 1) }
            if done.insert(address).inserted { ordered.append(record) }
        }
        for address in byAddress.keys.sorted() { visit(address, 0) }
        return ordered
    }

    /// Waits until `stop()` is called (control API, signal, or `kumo up`'s Ctrl-C).
    public func waitUntilStopped() async {
        if stopping { return }
        await withCheckedContinuation { continuation in stopRequested = continuation }
    }

    /// Stops every process it started and the servers; removes runtime.json.
    public func stop() async {
        guard !stopping else { return }
        stopping = true
        // The gateway stops finding pools first, so nothing new is queued on one that stops.
        for name in pools.keys { directory.set(name, pool: nil) }
        for (_, service) in services { await service.shutdown() }
        for (_, pool) in pools { await pool.shutdown() }
        services = [:]
        pools = [:]
        cpuLimit?.removeDirectory()
        for server in servers { server.stop() }
        servers = []
        try? await gateway?.close()
        gateway = nil
        if let info, RuntimeInfo.load(projectDirectory: info.projectDirectory)?.pid == getpid() {
            unlink(RuntimeInfo.path(projectDirectory: info.projectDirectory))
        }
        logs.write("runtime", tag: "runtime", "runtime \(getpid()) stopped")
        logs.close()
        stopRequested?.resume()
        stopRequested = nil
    }

    // MARK: Resources

    public func deploy(address: String, spec: ConfigValue, codeHash: String?, secrets: [String: String]) async throws {
        guard let (kind, name) = ResourceKind.parse(address: address) else { throw FunctionConfig.Failure(description: "bad address \(address)") }
        switch kind {
        case .function:
            let config = try FunctionConfig(name: name, spec: spec, codeHash: codeHash, projectDirectory: options.projectDirectory, secrets: secrets)
            if let pool = pools[name] {
                try await pool.update(config)
            } else {
                let pool = FunctionPool(config: config, logs: logs, bootstraps: bootstraps, region: region)
                pools[name] = pool
                directory.set(name, pool: pool)
                do { try await pool.start() } catch {
                    directory.set(name, pool: nil)
                    pools[name] = nil
                    await pool.shutdown()
                    throw error
                }
            }
            directory.setRoutes(function: name, config.routes)
        case .service:
            let config = try ServiceConfig(name: name, spec: spec, codeHash: codeHash, projectDirectory: options.projectDirectory, secrets: secrets)
            if let service = services[name] {
                try await service.update(config)
            } else {
                guard let cpuLimit else { throw FunctionConfig.Failure(description: "service \(name): the runtime has not started") }
                let service = ServiceSupervisor(config: config, logs: logs, cpuLimit: cpuLimit)
                services[name] = service
                do { try await service.start() } catch {
                    await service.shutdown()
                    services[name] = nil
                    throw error
                }
            }
        case .scaling, .rule:
            registered[address] = spec
        }
        hashes[address] = (Hashing.specHash(spec), codeHash)
        failures[address] = nil
    }

    public func remove(address: String) async {
        guard let (kind, name) = ResourceKind.parse(address: address) else { return }
        switch kind {
        case .function:
            directory.setRoutes(function: name, [])
            directory.set(name, pool: nil)
            if let pool = pools.removeValue(forKey: name) { await pool.shutdown() }
        case .service:
            if let service = services.removeValue(forKey: name) { await service.shutdown() }
        case .scaling, .rule:
            registered[address] = nil
        }
        hashes[address] = nil
        failures[address] = nil
    }


    public func status() async -> [RuntimeResourceStatus] {
        var result: [RuntimeResourceStatus] = []
        for (name, pool) in pools {
            let s = await pool.status()
            let address = "function.\(name)"
            result.append(RuntimeResourceStatus(
                address: address, kind: .function, state: "ready", specHash: hashes[address]?.spec ?? "", codeHash: hashes[address]?.code,
                detail: .object([("warm", .int(s.warm)), ("busy", .int(s.busy)), ("starting", .int(s.starting)), ("queued", .int(s.queued)),
                                 ("invocations", .int(s.invocations)), ("errors", .int(s.errors)), ("throttles", .int(s.throttles)),
                                 ("cold_starts", .int(s.coldStarts)), ("last_error", s.lastError.map { .string($0) } ?? .null),
                                 ("pids", .array(await pool.workerPIDs.map { .int(Int($0)) }))])))
        }
        for (name, service) in services {
            let s = await service.status()
            let m = service.metrics
            let address = "service.\(name)"
            result.append(RuntimeResourceStatus(
                address: address, kind: .service, state: s.ready >= s.total ? "ready" : "degraded", specHash: hashes[address]?.spec ?? "", codeHash: hashes[address]?.code,
                detail: .object([("replicas_ready", .int(s.ready)), ("replicas", .int(s.total)), ("ports", .array(s.ports.map { .int($0) })),
                                 ("pids", .array(s.pids.map { .int(Int($0)) })), ("last_error", s.lastError.map { .string($0) } ?? .null),
                                 ("requests_per_second", .double(m.requestsPerSecond)), ("in_flight", .int(m.inFlight)),
                                 ("requests", .int(m.served)), ("failed_requests", .int(m.failed)),
                                 ("cpu", .double(s.cpu)), ("cpu_limit", .string(cpuLimit?.summary ?? "")), ("replica_detail", s.detail)])))
        }
        for address in registered.keys {
            let kind = ResourceKind.parse(address: address)?.kind ?? .rule
            result.append(RuntimeResourceStatus(address: address, kind: kind, state: "registered", specHash: hashes[address]?.spec ?? "", codeHash: nil, detail: .object([])))
        }
        for (address, error) in failures where hashes[address] == nil {
            result.append(RuntimeResourceStatus(address: address, kind: ResourceKind.parse(address: address)?.kind ?? .function, state: "failed", specHash: "", codeHash: nil,
                                                detail: .object([("last_error", .string(error))])))
        }
        return result.sorted { $0.address < $1.address }
    }

    // MARK: Control API

    /// Every request needs `Authorization: Bearer TOKEN`.
    func control(_ request: Request, token: String) async throws -> Response {
        let given = request.headers[.authorization] ?? ""
        guard Runtime.constantTimeEqual(given, "Bearer " + token) else {
            return .json(.unauthorized, "{\"error\":\"missing or wrong bearer token (see .kumo/runtime.json)\"}", headers: [.wwwAuthenticate: "Bearer"])
        }
        let path = request.uri.path
        switch (request.method, path) {
        case (.get, "/v1/status"):
            let resources = await status()
            let info = self.info
            let value: ConfigValue = .object([
                ("runtime", .object([("pid", .int(Int(getpid()))), ("gateway_port", .int(info?.gatewayPort ?? 0)), ("started_at", .string(info?.startedAt ?? "")),
                                     ("project_dir", .string(options.projectDirectory)), ("version", .string(options.version))])),
                ("resources", .array(resources.map { r in
                    .object([("address", .string(r.address)), ("kind", .string(r.kind.rawValue)), ("state", .string(r.state)),
                             ("spec_hash", .string(r.specHash)), ("code_hash", r.codeHash.map { .string($0) } ?? .null), ("detail", r.detail)])
                })),
            ])
            return .json(.ok, value.compactJSON())
        case (.post, "/v1/shutdown"):
            Task { await self.stop() }
            return .json(.accepted, "{\"status\":\"stopping\"}")
        default:
            break
        }
        let prefix = "/v1/resources/"
        guard path.hasPrefix(prefix) else { return .json(.notFound, "{\"error\":\"unknown path\"}") }
        let address = String(path.dropFirst(prefix.count))
        guard ResourceKind.parse(address: address) != nil else { return .json(.badRequest, "{\"error\":\"bad address\"}") }
        switch request.method {
        case .put:
            let body = try await request.bytes(limit: 64 * 1024 * 1024)
            guard let value = try? ConfigValue(json: String(decoding: body, as: UTF8.self)), let spec = value["spec"] else {
                return .json(.badRequest, "{\"error\":\"expected {spec, code_hash, secrets}\"}")
            }
            var secrets: [String: String] = [:]
            for (name, secret) in value["secrets"]?.objectValue ?? [] { secrets[name] = secret.stringValue }
            do {
                try await deploy(address: address, spec: spec, codeHash: value["code_hash"]?.stringValue, secrets: secrets)
                return .json(.ok, "{\"status\":\"applied\"}")
            } catch {
                failures[address] = "\(error)"
                var text = ""
                ConfigValue.writeJSONString("\(error)", into: &text)
                return .json(.unprocessableContent, "{\"error\":\(text)}")
            }
        case .delete:
            await remove(address: address)
            return .json(.ok, "{\"status\":\"removed\"}")
        default:
            return .json(.methodNotAllowed, "{\"error\":\"use PUT or DELETE\"}")
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return difference == 0
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
