import Foundation
import KumoManifest
import KumoPlan

/// A service as the runtime runs it: the applied spec with paths absolute and secrets resolved.
public struct ServiceConfig: Sendable, Equatable {
    public var name: String
    /// The command as manifest text; `${port}` is filled in per replica.
    public var command: [String]
    public var codeDirectory: String
    public var port: Int?
    public var replicas: Int
    public var memoryMB: Int
    public var cpu: Double
    public var environment: [String: String]
    public var healthcheck: Health?
    public var stopGracePeriod: Swift.Duration
    public var revision: String

    public struct Health: Sendable, Equatable {
        public enum Probe: Sendable, Equatable { case http(String), tcp, exec([String]) }
        public var probe: Probe
        public var interval: Swift.Duration
        public var timeout: Swift.Duration
        public var retries: Int
        public var startPeriod: Swift.Duration
    }

    public init(name: String, spec: ConfigValue, codeHash: String?, projectDirectory: String, secrets: [String: String]) throws {
        func duration(_ value: ConfigValue?, _ fallback: KumoManifest.Duration) -> Swift.Duration {
            .milliseconds((value?.stringValue.flatMap { KumoManifest.Duration(parsing: $0) } ?? fallback).milliseconds)
        }
        self.name = name
        // Secrets now, `${port}` per replica.
        command = try (spec["command"]?.arrayValue ?? []).map { try ManifestText.resolveSecretsOnly($0.stringValue ?? "", secrets: secrets) }
        let code = spec["code"]?.stringValue
        codeDirectory = code.map { $0.hasPrefix("/") ? $0 : projectDirectory + "/" + $0 } ?? projectDirectory
        port = spec["port"]?.intValue
        replicas = spec["replicas"]?.intValue ?? Service.defaultReplicas
        memoryMB = spec["resources"]?["memory"]?.intValue ?? Service.Resources.default.memory
        cpu = spec["resources"]?["cpu"]?.doubleValue ?? Service.Resources.default.cpu
        var environment: [String: String] = [:]
        for (key, value) in spec["environment"]?.objectValue ?? [] {
            environment[key] = try ManifestText.resolveSecretsOnly(value.stringValue ?? "", secrets: secrets)
        }
        self.environment = environment
        if let h = spec["healthcheck"] {
            let probe: Health.Probe
            if let path = h["http"]?.stringValue { probe = .http(path) }
            else if let argv = h["exec"]?.arrayValue { probe = .exec(try argv.map { try ManifestText.resolveSecretsOnly($0.stringValue ?? "", secrets: secrets) }) }
            else { probe = .tcp }
            healthcheck = Health(probe: probe, interval: duration(h["interval"], Healthcheck.defaultInterval), timeout: duration(h["timeout"], Healthcheck.defaultTimeout),
                                 retries: h["retries"]?.intValue ?? Healthcheck.defaultRetries, startPeriod: duration(h["startPeriod"], Healthcheck.defaultStartPeriod))
        }
        stopGracePeriod = duration(spec["stopGracePeriod"], Service.defaultStopGracePeriod)
        revision = Hashing.sha256((spec.compactJSON(sortedKeys: true) + (codeHash ?? "") + secrets.keys.sorted().map { $0 + "=" + secrets[$0]! }.joined()).utf8)
    }
}

extension ManifestText {
    /// Resolves secrets and `$${`, keeping `${port}` for the replica to fill in.
    static func resolveSecretsOnly(_ text: String, secrets: [String: String]) throws -> String {
        try text.components(separatedBy: "${port}").map { try resolve($0, secrets: secrets) }.joined(separator: "${port}")
    }
}

/// The replicas of one service: each a process from `command` on its own loopback port.
actor ServiceSupervisor {
    private(set) var config: ServiceConfig
    let logs: LogBook
    private var replicas: [Replica] = []
    private var nextReplica = 1
    private(set) var lastError: String?
    private(set) var restarts = 0

    final class Replica: @unchecked Sendable {
        let index: Int
        let port: Int
        let process: ChildProcess
        var healthy = false
        init(index: Int, port: Int, process: ChildProcess) {
            self.index = index
            self.port = port
            self.process = process
        }
    }

    init(config: ServiceConfig, logs: LogBook) {
        self.config = config
        self.logs = logs
    }

    var address: String { "service.\(config.name)" }

    /// Starts the replicas and returns once each is healthy (or started, without a healthcheck).
    func start() async throws {
        for _ in 0..<config.replicas { try await startReplica() }
    }

    func update(_ next: ServiceConfig) async throws {
        let old = replicas
        config = next
        replicas = []
        for replica in old { await stop(replica) }
        try await start()
    }

    func shutdown() async {
        let all = replicas
        replicas = []
        for replica in all { await stop(replica) }
    }

    func status() -> (ready: Int, total: Int, ports: [Int], pids: [pid_t], lastError: String?) {
        let live = replicas.filter { !$0.process.hasExited }
        return (live.filter(\.healthy).count, config.replicas, live.map(\.port), live.map(\.process.pid), lastError)
    }

    private func startReplica() async throws {
        let index = nextReplica
        nextReplica += 1
        let port = try ServiceSupervisor.freePort()
        let argv = config.command.map { $0.replacingOccurrences(of: "${port}", with: String(port)) }
        var environment = config.environment
        environment["PORT"] = String(port)
        environment["PATH"] = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["LANG"] = environment["LANG"] ?? "C.UTF-8"
        let address = self.address
        let logs = self.logs
        let tag = "replica-\(index)"
        let process = try ChildProcess(
            argv: argv, environment: environment, directory: config.codeDirectory,
            onLine: { _, line in logs.write(address, tag: tag, line) },
            onExit: { status in logs.write(address, tag: tag, "replica \(index) exited: \(FunctionPool.describe(status))") })
        Registry.shared.add(process, owner: address)
        let replica = Replica(index: index, port: port, process: process)
        replicas.append(replica)
        logs.write(address, tag: tag, "replica \(index) started on port \(port) (pid \(process.pid))")
        do {
            try await waitUntilHealthy(replica)
        } catch {
            lastError = "\(error)"
            await stop(replica)
            replicas.removeAll { $0 === replica }
            throw error
        }
        replica.healthy = true
    }

    private func waitUntilHealthy(_ replica: Replica) async throws {
        guard let health = config.healthcheck else {
            // Without a healthcheck a replica counts as started once it is still running shortly after.
            try await Task.sleep(for: .milliseconds(100))
            if replica.process.hasExited { throw FunctionConfig.Failure(description: "service \(config.name): replica \(replica.index) exited at start") }
            return
        }
        let deadline = ContinuousClock.now + health.startPeriod + health.interval * (health.retries + 1) + .seconds(5)
        var failures = 0
        let started = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if replica.process.hasExited {
                throw FunctionConfig.Failure(description: "service \(config.name): replica \(replica.index) exited before it was healthy")
            }
            if await HealthProbe.check(health.probe, port: replica.port, timeout: health.timeout, directory: config.codeDirectory) { return }
            if ContinuousClock.now - started > health.startPeriod {
                failures += 1
                if failures > health.retries + 20 { break }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FunctionConfig.Failure(description: "service \(config.name): replica \(replica.index) did not become healthy")
    }

    private func stop(_ replica: Replica) async {
        await replica.process.stop(grace: config.stopGracePeriod)
        Registry.shared.remove(replica.process)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FunctionConfig.Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw FunctionConfig.Failure(description: "bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Health probes: HTTP GET (2xx–3xx), TCP connect, or a command that exits 0.
enum HealthProbe {
    static func check(_ probe: ServiceConfig.Health.Probe, port: Int, timeout: Swift.Duration, directory: String) async -> Bool {
        switch probe {
        case .tcp:
            return tcpConnect(port: port, timeout: timeout)
        case .http(let path):
            return await httpGet(port: port, path: path, timeout: timeout)
        case .exec(let argv):
            let resolved = argv.map { $0.replacingOccurrences(of: "${port}", with: String(port)) }
            guard let process = try? ChildProcess(argv: resolved, environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "PORT": String(port)],
                                                  directory: directory, onLine: { _, _ in }, onExit: { _ in }) else { return false }
            let deadline = ContinuousClock.now + timeout
            while !process.hasExited && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            if !process.hasExited { process.signalGroup(SIGKILL) }
            return await process.wait() == 0
        }
    }

    static func tcpConnect(port: Int, timeout: Swift.Duration) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// A minimal HTTP/1.1 GET over a blocking socket with timeouts: status 200–399 is healthy.
    static func httpGet(port: Int, path: String, timeout: Swift.Duration) async -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else { return false }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: kumo-healthcheck\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n >= 12 else { return false }
        let line = String(decoding: buffer[0..<n], as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return false }
        return (200..<400).contains(status)
    }
}
