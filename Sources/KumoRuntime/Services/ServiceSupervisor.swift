import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KumoManifest
import KumoPlan
import NIOCore
import NIOHTTP1

/// The replicas of one service behind its stable front port.
///
/// Each replica is a process from `command` on its own loopback port. The front port (a
/// reverse proxy with keep-alive) sends each request to the ready replica with the fewest
/// requests in flight, never to one that is starting, draining or unhealthy. Health checks run
/// all the time: a replica that fails `retries` checks in a row leaves the balancer and is
/// restarted; one that exits is restarted by the `restart` policy with back-off (100 ms doubling
/// to 1 min, reset after 10 s healthy). A new revision rolls replica by replica: start one new,
/// wait until healthy, add it, drain an old one (no new requests, wait for its in-flight ones,
/// SIGTERM, grace period, SIGKILL); a new replica that never gets healthy stops the rollout and
/// the old ones keep serving.
actor ServiceSupervisor {
    private(set) var config: ServiceConfig
    let logs: LogBook
    private var replicas: [Replica] = []
    private var nextReplica = 1
    private(set) var lastError: String?
    private var front: FrontProxy?
    let balancer = Balancer()
    private var monitor: Task<Void, Never>?
    private var stopped = false
    /// The replica count an autoscaler chose (nil: the manifest's `replicas`).
    private var scaledReplicas: Int?
    /// What the service runs: the autoscaler's count, else the manifest's.
    var targetReplicas: Int { scaledReplicas ?? config.replicas }
    /// Replicas running or on their way (not draining, stopped or exited).
    var liveReplicas: Int { replicas.filter { $0.state != .stopped && $0.state != .draining && $0.state != .exited }.count }
    /// The process of each replica not stopped or exited.
    var livePIDs: [pid_t] { replicas.filter { $0.state != .stopped && $0.state != .exited }.compactMap { $0.process?.pid } }

    final class Replica: @unchecked Sendable {
        /// `exited`: its process ended and the restart policy keeps it down; out of the
        /// balancer, but still listed by `status` with its last exit and stderr lines, until the
        /// next update of the service replaces it.
        enum State: String { case starting, ready, unhealthy, draining, stopped, exited }
        let index: Int
        /// The config revision the replica runs; a scale in place relabels the replicas it
        /// keeps, since they run the new spec in all but the count.
        var revision: String
        var port: Int
        var process: ChildProcess?
        /// Kept in step with the balancer: only a ready replica takes requests.
        var state = State.starting {
            didSet {
                switch state {
                case .stopped, .exited: balancer.remove(index)
                default: balancer.set(index, port: port, ready: state == .ready)
                }
            }
        }
        let balancer: Balancer
        var inFlight: Int { balancer.inFlight(index) }
        /// Counts launches, so the exit of a process that was already replaced is ignored.
        var launches = 0
        var failures = 0
        var restarts = 0
        var backoff = RestartBackoff()
        /// A restart is scheduled: the exit of the process it replaces (killed after failing its
        /// health checks) is not a second reason to restart, nor one for the policy to refuse.
        var restartPending = false
        var lastExit: String?
        var recentErrors: [String] = []
        /// The cgroup that holds the replica to its CPU limit, when limits are enforced.
        var cgroup: String?
        init(index: Int, revision: String, port: Int, balancer: Balancer) {
            self.index = index
            self.balancer = balancer
            self.revision = revision
            self.port = port
        }
    }

    let cpuLimit: CPULimit

    let isolation: Isolation

    init(config: ServiceConfig, logs: LogBook, cpuLimit: CPULimit, isolation: Isolation) {
        self.isolation = isolation
        self.config = config
        self.logs = logs
        self.cpuLimit = cpuLimit
    }

    var address: String { "service.\(config.name)" }

    // MARK: Lifecycle

    /// Opens the front port, starts the replicas and returns once each is healthy.
    func start() async throws {
        if let port = config.port {
            do {
                let (logs, address) = (self.logs, self.address)
                let cap = ConnectionCap(listener: "front port of service \(config.name)") { logs.write(address, tag: "front", $0) }
                front = try await FrontProxy.start(port: port, service: config.name, balancer: balancer, cap: cap)
            } catch {
                throw RuntimeError("service \(config.name): cannot listen on 127.0.0.1:\(port): \(error)")
            }
        }
        monitor = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                await self?.checkHealth()
            }
        }
        for _ in 0..<config.replicas { _ = try await startReplica(revision: config.revision) }
    }

    /// Applies a new config the way the plan said: `.scale` adds or drains replicas of the
    /// running version, `.rolling` replaces every replica one at a time. A scale is only
    /// honoured when the running service really differs in `replicas` alone (same code and
    /// secrets); otherwise the service rolls, and the log says why. Without a strategy (a
    /// client or saved plan older than strategies) that same comparison decides.
    func update(_ next: ServiceConfig, strategy: UpdateStrategy?) async throws {
        let previous = config
        // Replicas that exited for good are replaced by this update (new ones reach the count).
        replicas.removeAll { $0.state == .exited }
        if next.revision == previous.revision {
            config = next
            try await scale(to: targetReplicas)
            return
        }
        if strategy != .rolling {
            if next.isScale(of: previous) {
                for replica in replicas where replica.revision == previous.revision { replica.revision = next.revision }
                config = next
                try await scale(to: targetReplicas)
                return
            }
            if strategy == .scale {
                logs.write(address, tag: "rollout", "the plan asked to scale, but the running version differs in more than 'replicas': rolling instead")
            }
        }
        config = next
        // Roll: one new replica up and healthy, then one old one drained, until none is old.
        let old = replicas.filter { $0.revision != next.revision && $0.state != .stopped }
        var added = 0
        for replica in old {
            let fresh: Replica
            do { fresh = try await startReplica(revision: next.revision) } catch {
                config = previous
                lastError = "rollout failed, kept the previous version: \(error)"
                logs.write(address, tag: "rollout", lastError!)
                throw RuntimeError("service \(next.name): rollout failed, the previous replicas keep serving: \(error)")
            }
            added += 1
            logs.write(address, tag: "rollout", "replica \(fresh.index) (new) is healthy; draining replica \(replica.index)")
            await drain(replica)
        }
        while added < targetReplicas { _ = try await startReplica(revision: next.revision); added += 1 }
        try await scale(to: targetReplicas)
    }

    func shutdown() async {
        stopped = true
        monitor?.cancel()
        await front?.stop()
        for replica in replicas where replica.state != .stopped && replica.state != .exited { await drain(replica) }
        replicas = []
    }

    /// Runs `count` replicas as an autoscaler decided (nil: back to the manifest's count),
    /// through the same scale-in-place and drain as an apply.
    func setReplicas(_ count: Int?) async throws {
        guard !stopped else { return }
        scaledReplicas = count
        // Scaled by an autoscaler, the service may go to zero: a request then starts a replica.
        if count == nil {
            balancer.setActivator(nil)
        } else {
            balancer.setActivator { [weak self] in
                Task { await self?.activate() }
            }
        }
        try await scale(to: targetReplicas)
    }

    /// A request reached the front port of a service scaled to zero: one replica, now.
    func activate() async {
        // Only a service an autoscaler scaled to zero wakes up; `replicas: 0` in the manifest stays off.
        guard !stopped, scaledReplicas != nil, liveReplicas == 0 else { return }
        logs.write(address, tag: "scaling", "a request arrived with no replica running: starting one")
        scaledReplicas = max(1, scaledReplicas ?? 0)
        do { try await scale(to: targetReplicas) } catch {
            lastError = "cannot start a replica for a waiting request: \(error)"
            logs.write(address, tag: "scaling", lastError!)
        }
    }

    private func scale(to count: Int) async throws {
        var live = replicas.filter { $0.state != .stopped && $0.state != .draining && $0.state != .exited }
        while live.count < count {
            live.append(try await startReplica(revision: config.revision))
        }
        while live.count > count, let last = live.popLast() { await drain(last) }
    }

    // MARK: Replicas

    private func startReplica(revision: String) async throws -> Replica {
        let replica = Replica(index: nextReplica, revision: revision, port: try ServiceSupervisor.freePort(), balancer: balancer)
        nextReplica += 1
        replicas.append(replica)
        try launch(replica)
        do {
            try await waitUntilHealthy(replica)
        } catch {
            lastError = "\(error)"
            replica.state = .stopped
            if let process = replica.process { await process.stop(grace: config.stopGracePeriod); Registry.shared.remove(process) }
            replicas.removeAll { $0 === replica }
            throw error
        }
        replica.state = .ready
        replica.backoff.healthy(at: .now)
        logs.write(address, tag: "replica-\(replica.index)", "replica \(replica.index) ready on port \(replica.port)")
        return replica
    }

    private func launch(_ replica: Replica) throws {
        let argv = config.command(port: replica.port)
        var environment = config.environment(port: replica.port)
        environment["PORT"] = String(replica.port)
        environment["PATH"] = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["LANG"] = environment["LANG"] ?? "C.UTF-8"
        let address = self.address
        let logs = self.logs
        let tag = "replica-\(replica.index)"
        replica.state = .starting
        replica.failures = 0
        replica.launches += 1
        let launch = replica.launches
        let group = "\(config.name)-\(replica.index)-\(launch)"
        let cpuLimit = self.cpuLimit
        // The replica's cgroup exists before it starts, and it joins it before its program runs.
        var cgroup: String?
        if cpuLimit.directory != nil {
            switch cpuLimit.prepare(cpus: config.cpu, name: group) {
            case .success(let path): cgroup = path
            case .failure(let error): logs.write(address, tag: tag, "replica \(replica.index): CPU limit of \(config.cpu) not applied: \(error)")
            }
        }
        let process = try ChildProcess(
            argv: argv, environment: environment, directory: config.codeDirectory, cgroup: cgroup, isolation: isolation,
            onLine: { [weak self] stream, line in
                logs.write(address, tag: tag, line)
                if stream == .stderr { Task { await self?.remember(line, for: replica) } }
            },
            onExit: { [weak self] status in
                cpuLimit.releaseLater(group)
                Task { await self?.exited(replica, launch: launch, status: status) }
            })
        replica.process = process
        replica.cgroup = nil
        if let cgroup {
            // Normally a no-op: it is there already (unless its own write failed).
            switch cpuLimit.join(process.pid, cgroup) {
            case .success(let path): replica.cgroup = path
            case .failure where process.hasExited: break
            case .failure(let error): logs.write(address, tag: tag, "replica \(replica.index): CPU limit of \(config.cpu) not applied: \(error)")
            }
        }
        Registry.shared.add(process, owner: address)
        logs.write(address, tag: tag, "replica \(replica.index) started on port \(replica.port) (pid \(process.pid))")
    }

    private func remember(_ line: String, for replica: Replica) {
        replica.recentErrors.append(line)
        if replica.recentErrors.count > 10 { replica.recentErrors.removeFirst() }
    }

    private func exited(_ replica: Replica, launch: Int, status: Int32) async {
        guard launch == replica.launches else { return }
        if let process = replica.process { Registry.shared.remove(process) }
        let description = FunctionPool.describe(status)
        replica.lastExit = description
        logs.write(address, tag: "replica-\(replica.index)", "replica \(replica.index) exited: \(description)")
        // A first launch that exits while starting is for `startReplica` to report (it fails the
        // apply or the rollout); a restarted one that exits before it is ready (a crash loop) is
        // restarted by its policy like any other, after a longer back-off.
        let awaited = replica.state == .starting && replica.launches == 1
        guard !stopped, replica.state != .draining, replica.state != .stopped, !awaited, !replica.restartPending else { return }
        let clean = (status & 0x7F) == 0 && ((status >> 8) & 0xFF) == 0
        let restart = config.restart == .always || (config.restart == .onFailure && !clean)
        guard restart else {
            replica.state = .exited
            lastError = "replica \(replica.index) exited (\(description)) and restart is '\(config.restart.rawValue)'"
            return
        }
        await restartReplica(replica, reason: description)
    }

    /// Restarts a replica in place after its back-off.
    private func restartReplica(_ replica: Replica, reason: String) async {
        replica.state = .unhealthy
        replica.restartPending = true
        // Until the new process runs: the old one's exit may arrive while this waits.
        defer { replica.restartPending = false }
        let delay = replica.backoff.restart(at: .now)
        replica.restarts += 1
        logs.write(address, tag: "replica-\(replica.index)", "restarting replica \(replica.index) in \(FunctionPool.milliseconds(delay)) ms (\(reason))")
        try? await Task.sleep(for: delay)
        guard !stopped, replica.state == .unhealthy, replicas.contains(where: { $0 === replica }) else { return }
        if let process = replica.process, !process.hasExited { await process.stop(grace: config.stopGracePeriod) }
        do {
            try launch(replica)
        } catch {
            lastError = "cannot restart replica \(replica.index): \(error)"
        }
    }

    /// Every 100 ms: probe the replicas that are due, move them in and out of the balancer.
    private func checkHealth() async {
        guard !stopped else { return }
        let limit = MemoryLimit(megabytes: config.memoryMB)
        for replica in replicas where replica.state == .ready || replica.state == .unhealthy || replica.state == .starting {
            guard let process = replica.process, !process.hasExited else { continue }
            let reading = limit.check(process)
            if reading.exceeded {
                logs.write(address, tag: "replica-\(replica.index)", "replica \(replica.index) uses \(reading.usedMegabytes) MB, over its memory limit of \(config.memoryMB) MB: killed")
                lastError = "replica \(replica.index) exceeded its memory limit of \(config.memoryMB) MB"
                process.signalGroup(SIGKILL)
                continue
            }
            guard let health = config.healthcheck else {
                if replica.state == .starting { replica.state = .ready; replica.backoff.healthy(at: .now) }
                continue
            }
            let key = ObjectIdentifier(replica)
            if let last = lastProbe[key], ContinuousClock.now - last < health.interval.duration { continue }
            lastProbe[key] = .now
            let healthy = await HealthProbe.check(config, port: replica.port, isolation: isolation)
            if healthy {
                replica.failures = 0
                if replica.state != .ready {
                    replica.state = .ready
                    replica.backoff.healthy(at: .now)
                    logs.write(address, tag: "replica-\(replica.index)", "replica \(replica.index) is healthy again")
                }
            } else if replica.state == .ready {
                replica.failures += 1
                if replica.failures >= max(1, health.retries) {
                    logs.write(address, tag: "replica-\(replica.index)", "replica \(replica.index) failed \(replica.failures) health checks: out of the balancer, restarting")
                    lastError = "replica \(replica.index) turned unhealthy"
                    process.signalGroup(SIGKILL)
                    await restartReplica(replica, reason: "unhealthy")
                }
            }
        }
    }
    private var lastProbe: [ObjectIdentifier: ContinuousClock.Instant] = [:]

    private func waitUntilHealthy(_ replica: Replica) async throws {
        guard let health = config.healthcheck else {
            // Without a healthcheck a replica counts as started once it still runs shortly after.
            try await Task.sleep(for: .milliseconds(150))
            if replica.process?.hasExited ?? true { throw RuntimeError("service \(config.name): replica \(replica.index) exited at start (\(replica.lastExit ?? "?"))\(stderrTail(replica))") }
            return
        }
        let started = ContinuousClock.now
        let deadline = started + health.startPeriod.duration + (health.interval.duration + health.timeout.duration) * (health.retries + 1) + .seconds(2)
        while ContinuousClock.now < deadline {
            if replica.process?.hasExited ?? true {
                throw RuntimeError("service \(config.name): replica \(replica.index) exited before it was healthy (\(replica.lastExit ?? "?"))\(stderrTail(replica))")
            }
            if await HealthProbe.check(config, port: replica.port, isolation: isolation) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RuntimeError("service \(config.name): replica \(replica.index) did not become healthy")
    }

    private func stderrTail(_ replica: Replica) -> String {
        replica.recentErrors.isEmpty ? "" : ": " + replica.recentErrors.suffix(3).joined(separator: " | ")
    }

    /// Out of the balancer, in-flight requests finish, then SIGTERM, grace period, SIGKILL.
    private func drain(_ replica: Replica) async {
        replica.state = .draining
        let deadline = ContinuousClock.now + config.stopGracePeriod
        while replica.inFlight > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if let process = replica.process {
            await process.stop(grace: config.stopGracePeriod)
            Registry.shared.remove(process)
        }
        replica.state = .stopped
        replicas.removeAll { $0 === replica }
        logs.write(address, tag: "replica-\(replica.index)", "replica \(replica.index) stopped")
    }

    // MARK: Status

    func status() -> (ready: Int, total: Int, cpu: Double, ports: [Int], pids: [pid_t], lastError: String?, detail: [ControlAPI.Status.ServiceDetail.Replica]) {
        let listed = replicas.filter { $0.state != .stopped }
        let detail = listed.map { r in
            ControlAPI.Status.ServiceDetail.Replica(
                replica: r.index, state: r.state.rawValue, port: r.port, pid: r.state == .exited ? nil : r.process?.pid, inFlight: r.inFlight, restarts: r.restarts,
                cgroup: r.state == .exited ? nil : r.cgroup, lastExit: r.lastExit, recentStderr: Array(r.recentErrors.suffix(5)))
        }
        let live = listed.filter { $0.state != .exited }
        return (live.filter { $0.state == .ready }.count, targetReplicas, config.cpu, live.map(\.port), live.compactMap { $0.process?.pid }, lastError, detail)
    }

    nonisolated var metrics: Balancer.Metrics { balancer.metrics }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw RuntimeError("bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Health probes: HTTP GET (2xx–3xx), TCP connect, or a command that exits 0.
enum HealthProbe {
    /// An `exec` probe runs isolated as the replicas do.
    static func check(_ config: ServiceConfig, port: Int, isolation: Isolation) async -> Bool {
        guard let health = config.healthcheck else { return true }
        let timeout = health.timeout.duration
        switch health.probe {
        case .tcp:
            return await offPool { tcpConnect(port: port, timeout: timeout) }
        case .http(let path):
            return await offPool { httpGet(port: port, path: path, timeout: timeout) }
        case .exec:
            guard let process = try? ChildProcess(argv: config.probeCommand(port: port), environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "PORT": String(port)],
                                                  directory: config.codeDirectory, isolation: isolation, onLine: { _, _ in }, onExit: { _ in }) else { return false }
            let deadline = ContinuousClock.now + timeout
            while !process.hasExited && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            if !process.hasExited { process.signalGroup(SIGKILL) }
            return await process.wait() == 0
        }
    }

    /// Runs a blocking probe on a dispatch thread: blocking on Swift's cooperative pool (one
    /// thread per core) would stall the front port and every other task for up to its timeout.
    static func offPool(_ probe: @escaping @Sendable () -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: probe()) }
        }
    }

    /// A loopback socket with send and receive timeouts, connected to `port`; -1 on failure.
    static func connected(port: Int, timeout: Swift.Duration) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    static func tcpConnect(port: Int, timeout: Swift.Duration) -> Bool {
        let fd = connected(port: port, timeout: timeout)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    /// A minimal HTTP/1.1 GET: status 200–399 is healthy.
    static func httpGet(port: Int, path: String, timeout: Swift.Duration) -> Bool {
        let fd = connected(port: port, timeout: timeout)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: kumo-healthcheck\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
        // The whole answer is read (up to 64 KB) before closing: closing with bytes unread
        // resets the connection, and a replica on Python's http.server logs a traceback for it.
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + timeout
        while answer.count < 65_536 && ContinuousClock.now < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        guard answer.count >= 12 else { return false }
        let parts = String(decoding: answer.prefix(64), as: UTF8.self).split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return false }
        return (200..<400).contains(status)
    }
}
