import Foundation
import NIOCore
import HTTPTypes
import Hummingbird
import KumoManifest
import KumoPlan
import KumoState

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
        /// A 0-byte state file is an empty state (`--force`); otherwise `start` refuses it.
        public var acceptEmptyStateFile: Bool
        /// How long the event bus archives accepted events for replay.
        public var eventRetention = Duration.hours(24)
        /// How often scaling policies are evaluated (the HPA's 15 s by default).
        public var scalingInterval = Duration.seconds(15)
        /// The loopback port of `GET /metrics` (0: any free one; runtime.json says which).
        public var metricsPort = 0

        public init(projectDirectory: String, statePath: String, gatewayPort: Int = 3000, controlPort: Int = 0, region: String = "us-east-1", version: String,
                    echo: (@Sendable (String, String) -> Void)? = nil, acceptEmptyStateFile: Bool = false) {
            self.projectDirectory = projectDirectory
            self.statePath = statePath
            self.gatewayPort = gatewayPort
            self.controlPort = controlPort
            self.region = region
            self.version = version
            self.echo = echo
            self.acceptEmptyStateFile = acceptEmptyStateFile
        }
    }

    public let options: Options
    public nonisolated let region: String
    let logs: LogBook
    let bootstraps: String
    private var pools: [String: FunctionPool] = [:]
    private var services: [String: ServiceSupervisor] = [:]
    private var registered: [String: ResourceSpec] = [:]
    private var hashes: [String: (spec: String, code: String?)] = [:]
    private var failures: [String: String] = [:]
    /// The pools and routes as the gateway sees them.
    private let directory = FunctionDirectory()
    private var gateway: (any Channel)?
    private var servers: [HTTPServer] = []
    /// Replica CPU limits (cgroups), found at start.
    private var cpuLimit: CPULimit?
    /// Namespaces for workers and replicas, found at start.
    private var isolation = Isolation.none("the runtime has not started")
    public private(set) var info: RuntimeInfo?
    /// The event bus: rules, deliveries, schedules.
    private var bus: EventBus?
    /// The live autoscaler.
    private var scaling: ScalingController?
    /// `/metrics`, on a loopback port of its own.
    let metrics = RuntimeMetrics()
    private var stopRequested: CheckedContinuation<Void, Never>?
    private var stopping = false

    public init(options: Options) throws {
        self.options = options
        region = options.region
        logs = LogBook(directory: options.projectDirectory + "/.kumo/logs", echo: options.echo)
        guard let bundled = Bundle.module.path(forResource: "Bootstraps", ofType: nil) else {
            throw RuntimeError("the runtime bootstraps are missing from this kumo build")
        }
        bootstraps = bundled
    }

    // MARK: Starting and stopping

    /// Stops what a killed runtime left, starts the control API and the gateway, writes
    /// runtime.json and brings up everything the state says is applied.
    @discardableResult
    public func start() async throws -> RuntimeInfo {
        // A truncated state would restore nothing and leave the runtime empty: refuse it first.
        if !options.acceptEmptyStateFile { try SQLiteStateStore.refuseEmptyFile(options.statePath) }
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
        // Workers and replicas never see the runtime's files: the token, state, logs.
        let statePath = (options.statePath as NSString).standardizingPath
        isolation = Isolation.detect(hiding: [kumo] + (statePath.hasPrefix(kumo + "/") ? [] : [statePath]))

        let descriptors = ConnectionCap.raiseDescriptorLimit()
        let bus: EventBus
        do {
            let store = try EventStore(path: kumo + "/runtime/events.db")
            bus = EventBus(store: store, options: EventBus.Options(region: region, retention: options.eventRetention), logs: logs, directory: directory)
        } catch {
            throw RuntimeError("cannot open the event store \(kumo)/runtime/events.db: \(error)")
        }
        self.bus = bus
        let scaling = ScalingController(interval: options.scalingInterval, logs: logs, metrics: metrics) { [weak self] address in await self?.scalingTarget(address) }
        self.scaling = scaling
        let token = Runtime.randomToken()
        let control = try await HTTPServer.start(port: options.controlPort, label: "control") { [weak self] request, _ in
            guard let self else { return Response(status: .serviceUnavailable) }
            return try await self.control(request, token: token)
        }
        servers.append(control)
        let metricsServer: HTTPServer
        do {
            metricsServer = try await HTTPServer.start(port: options.metricsPort, label: "metrics") { [weak self] request, _ in
                guard let self, request.method == .get, request.uri.path == "/metrics" else { return Response(status: .notFound) }
                return .init(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                             body: .init(byteBuffer: ByteBuffer(bytes: await self.scrape())))
            }
        } catch {
            control.stop()
            throw RuntimeError("the metrics endpoint cannot listen on 127.0.0.1:\(options.metricsPort): \(error); choose another with --metrics-port")
        }
        servers.append(metricsServer)
        let gateway: any Channel
        do {
            let gatewayHandler = Gateway(directory: directory, region: region, events: bus)
            let logs = self.logs
            let cap = ConnectionCap(listener: "gateway") { logs.write("runtime", tag: "runtime", $0) }
            gateway = try await LoopHTTPHandler.bind(port: options.gatewayPort, on: InvokeLoop.loop, cap: cap) {
                LoopHTTPHandler(limit: FunctionPool.payloadLimit, handle: { request, handler in gatewayHandler.handle(request, handler) })
            }.get()
        } catch {
            control.stop()
            throw RuntimeError("the gateway cannot listen on 127.0.0.1:\(options.gatewayPort): \(error); choose another with --gateway-port")
        }
        self.gateway = gateway
        let gatewayPort = gateway.localAddress?.port ?? options.gatewayPort
        var info = RuntimeInfo(pid: getpid(), controlPort: control.port, gatewayPort: gatewayPort, token: token,
                               projectDirectory: options.projectDirectory, statePath: options.statePath,
                               startedAt: FunctionPool.timestamp(), version: options.version)
        info.metricsPort = metricsServer.port
        self.info = info
        logs.write("runtime", tag: "runtime", "runtime \(getpid()) started: control API 127.0.0.1:\(control.port), gateway 127.0.0.1:\(gatewayPort), metrics http://127.0.0.1:\(metricsServer.port)/metrics")
        logs.write("runtime", tag: "runtime", "service CPU limits: \(cpuLimit.summary)")
        logs.write("runtime", tag: "runtime", "isolation: \(isolation.summary)")
        logs.write("runtime", tag: "runtime", "open descriptors: up to \(descriptors) (each listener keeps at most \(ConnectionCap.standard) client connections)")
        await reconcile()
        // Deliveries a killed runtime left resume once their targets are back.
        await bus.start()
        await scaling.start()
        // Clients find the runtime only once it serves what the state says is applied.
        try info.write()
        return info
    }

    /// Brings up every resource the state records, tainted ones included (after a restart).
    func reconcile() async {
        let snapshot: StateSnapshot
        do {
            guard let store = try StateLocation(options.statePath).open(create: false, acceptEmptyFile: options.acceptEmptyStateFile) else { return }
            snapshot = try store.snapshot()
        } catch {
            logs.write("runtime", tag: "runtime", "cannot restore from the state at \(options.statePath): \(error)")
            return
        }
        let environment = ProcessInfo.processInfo.environment
        // A tainted resource is restored too, with the spec the state keeps for it: the one that
        // served before the change that did not finish. The next plan replaces it.
        let ordered = Runtime.dependencyOrder(Array(snapshot.resources.values))
        for record in ordered {
            do {
                let spec = try record.decodedSpec()
                var secrets: [String: String] = [:]
                for name in spec.secretNames { secrets[name] = environment[name] }
                try await deploy(spec, specHash: record.specHash, codeHash: record.codeHash, secrets: secrets)
                logs.write("runtime", tag: "runtime", record.status == .tainted
                    ? "restored \(record.address) from the state, tainted: its last change did not finish, so it runs the version before it until the next apply replaces it"
                    : "restored \(record.address) from the state")
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
        await bus?.stop()
        bus = nil
        await scaling?.stop()
        scaling = nil
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

    func service(named name: String) -> ServiceSupervisor? { services[name] }

    func pool(named name: String) -> FunctionPool? { pools[name] }

    var allPools: [String: FunctionPool] { pools }

    var allServices: [String: ServiceSupervisor] { services }

    func ruleDetails() async -> [String: ControlAPI.Status.RuleDetail] { await bus?.ruleDetails() ?? [:] }

    /// Brings one resource to its spec. A service that runs already is updated the way
    /// `update` says (the plan's decision; without one, a scale when only `replicas` differs).
    /// `specHash` is the hash of the spec as the state records it (the status reports it, and
    /// `--refresh` compares it).
    public func deploy(_ spec: ResourceSpec, specHash: String, codeHash: String?, secrets: [String: String], update: UpdateStrategy? = nil) async throws {
        let address = spec.address
        switch spec {
        case .function(let function):
            let name = function.name
            let config = try FunctionConfig(function, codeHash: codeHash, projectDirectory: options.projectDirectory, secrets: secrets)
            if let pool = pools[name] {
                try await pool.update(config)
            } else {
                let pool = FunctionPool(config: config, logs: logs, bootstraps: bootstraps, region: region, isolation: isolation, metrics: metrics)
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
            await bus?.setFunction(function)
        case .service(let service):
            let name = service.name
            let config = try ServiceConfig(service, codeHash: codeHash, projectDirectory: options.projectDirectory, secrets: secrets)
            if let supervisor = services[name] {
                try await supervisor.update(config, strategy: update)
            } else {
                guard let cpuLimit else { throw RuntimeError("service \(name): the runtime has not started") }
                let supervisor = ServiceSupervisor(config: config, logs: logs, cpuLimit: cpuLimit, isolation: isolation)
                services[name] = supervisor
                do { try await supervisor.start() } catch {
                    await supervisor.shutdown()
                    services[name] = nil
                    throw error
                }
            }
            await bus?.setService(name, port: service.port)
        case .rule(let rule):
            registered[address] = spec
            await bus?.setRule(rule)
        case .scaling(let policy):
            registered[address] = spec
            await scaling?.set(policy)
        }
        hashes[address] = (specHash, codeHash)
        failures[address] = nil
    }

    public func remove(address: String) async {
        guard let (kind, name) = ResourceKind.parse(address: address) else { return }
        switch kind {
        case .function:
            directory.setRoutes(function: name, [])
            directory.set(name, pool: nil)
            if let pool = pools.removeValue(forKey: name) { await pool.shutdown() }
            await bus?.removeFunction(name)
        case .service:
            if let service = services.removeValue(forKey: name) { await service.shutdown() }
            await bus?.setService(name, port: nil)
        case .rule:
            registered[address] = nil
            await bus?.removeRule(name)
        case .scaling:
            registered[address] = nil
            await scaling?.remove(name)
        }
        hashes[address] = nil
        failures[address] = nil
    }


    public func status() async -> [ControlAPI.Status.Resource] {
        var result: [ControlAPI.Status.Resource] = []
        for (name, pool) in pools {
            let s = await pool.status()
            let address = "function.\(name)"
            let detail = ControlAPI.Status.FunctionDetail(
                warm: s.warm, busy: s.busy, starting: s.starting, queued: s.queued, invocations: s.invocations, errors: s.errors,
                throttles: s.throttles, coldStarts: s.coldStarts, lastError: s.lastError, pids: await pool.workerPIDs)
            result.append(ControlAPI.Status.Resource(
                address: address, kind: .function, state: "ready", specHash: hashes[address]?.spec ?? "", codeHash: hashes[address]?.code, detail: .function(detail)))
        }
        for (name, service) in services {
            let s = await service.status()
            let m = service.metrics
            let address = "service.\(name)"
            let detail = ControlAPI.Status.ServiceDetail(
                replicasReady: s.ready, replicas: s.total, ports: s.ports, pids: s.pids, lastError: s.lastError,
                requestsPerSecond: m.requestsPerSecond, inFlight: m.inFlight, requests: m.served, failedRequests: m.failed,
                cpu: s.cpu, cpuLimit: cpuLimit?.summary ?? "", replicaDetail: s.detail)
            result.append(ControlAPI.Status.Resource(
                address: address, kind: .service, state: s.ready >= s.total ? "ready" : "degraded", specHash: hashes[address]?.spec ?? "",
                codeHash: hashes[address]?.code, detail: .service(detail)))
        }
        let rules = await bus?.ruleDetails() ?? [:]
        for (address, spec) in registered {
            var detail: ControlAPI.Status.Detail = rules[address].map { .rule($0) } ?? .other(lastError: nil)
            if case .scaling(let policy) = spec, let scaling = await scaling?.detail(policy.name) { detail = .scaling(scaling) }
            result.append(ControlAPI.Status.Resource(address: address, kind: spec.kind, state: "registered", specHash: hashes[address]?.spec ?? "", codeHash: nil, detail: detail))
        }
        for (address, error) in failures where hashes[address] == nil {
            result.append(ControlAPI.Status.Resource(address: address, kind: ResourceKind.parse(address: address)?.kind ?? .function, state: "failed", specHash: "", codeHash: nil,
                                                     detail: .other(lastError: error)))
        }
        return result.sorted { $0.address < $1.address }
    }

    // MARK: Control API

    /// Every request needs `Authorization: Bearer TOKEN`.
    func control(_ request: Request, token: String) async throws -> Response {
        let given = request.headers[.authorization] ?? ""
        guard Runtime.constantTimeEqual(given, "Bearer " + token) else {
            return .error(.unauthorized, "missing or wrong bearer token (see .kumo/runtime.json)", headers: [.wwwAuthenticate: "Bearer"])
        }
        let path = request.uri.path
        switch (request.method, path) {
        case (.get, "/v1/status"):
            let info = self.info
            let document = ControlAPI.Status(
                runtime: ControlAPI.Status.Daemon(pid: getpid(), gatewayPort: info?.gatewayPort ?? 0, startedAt: info?.startedAt ?? "",
                                                  projectDirectory: options.projectDirectory, version: options.version,
                                                  isolation: isolation.summary),
                resources: await status())
            return .json(.ok, ControlAPI.encode(document))
        case (.post, "/v1/shutdown"):
            Task { await self.stop() }
            return .json(.accepted, "{\"status\":\"stopping\"}")
        default:
            break
        }
        if path == "/v1/events" || path.hasPrefix("/v1/events/") {
            guard let bus else { return .error(.serviceUnavailable, "the runtime is stopping") }
            return try await Runtime.events(request, path: path, bus: bus)
        }
        let prefix = "/v1/resources/"
        guard path.hasPrefix(prefix) else { return .error(.notFound, "unknown path") }
        let address = String(path.dropFirst(prefix.count))
        guard let (kind, name) = ResourceKind.parse(address: address) else { return .error(.badRequest, "bad address \(address): expected KIND.NAME") }
        switch request.method {
        case .put:
            let body = try await request.bytes(limit: 64 * 1024 * 1024)
            let deploy: ControlAPI.DeployRequest
            do { deploy = try ControlAPI.decode(ControlAPI.DeployRequest.self, from: body) } catch {
                return .error(.badRequest, "expected {spec, code_hash, secrets, update_strategy}: \(error)")
            }
            do {
                let spec = try ResourceSpec(kind: kind, name: name, canonical: deploy.spec)
                try await self.deploy(spec, specHash: Hashing.specHash(deploy.spec), codeHash: deploy.codeHash, secrets: deploy.secrets, update: deploy.updateStrategy)
                return .json(.ok, "{\"status\":\"applied\"}")
            } catch {
                failures[address] = "\(error)"
                return .error(.unprocessableContent, "\(error)")
            }
        case .delete:
            await remove(address: address)
            return .json(.ok, "{\"status\":\"removed\"}")
        default:
            return .error(.methodNotAllowed, "use PUT or DELETE")
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
