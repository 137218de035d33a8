import Foundation
import HTTPTypes
import Hummingbird
import KumoManifest

/// What an invocation came to.
public enum InvokeOutcome: Sendable, Equatable {
    /// The handler's result (JSON bytes).
    case success([UInt8])
    /// The function failed: its error document (`errorMessage`, `errorType`, …); the Invoke
    /// API answers 200 with `X-Amz-Function-Error: Unhandled`.
    case functionError(type: String, payload: [UInt8])
    /// Over the concurrency cap for longer than the timeout (429 TooManyRequestsException).
    case throttled
}

/// Counters and the last error of one function, for `kumo status`.
public struct PoolStatus: Sendable {
    public var warm: Int
    public var busy: Int
    public var starting: Int
    public var queued: Int
    public var invocations: Int
    public var errors: Int
    public var throttles: Int
    public var coldStarts: Int
    public var lastError: String?
}

/// The workers of one function: warm pool, scale to zero, concurrency cap, timeouts, memory
/// limit, crash replacement and rolling replacement on a new revision.
///
/// python3, node and provided workers are long-lived processes that pull invocations over the
/// Lambda Runtime API, each from its own loopback port; exec functions start one process per
/// invocation (event on stdin, result on stdout).
actor FunctionPool {
    private(set) var config: FunctionConfig
    let logs: LogBook
    let bootstraps: String
    nonisolated let region: String
    private var workers: [Int: Worker] = [:]
    private var queue: [Invocation] = []
    private var nextWorkerID = 1
    private var running = 0  // exec invocations in flight
    private var stats = PoolStatus(warm: 0, busy: 0, starting: 0, queued: 0, invocations: 0, errors: 0, throttles: 0, coldStarts: 0, lastError: nil)
    private var maintenance: Task<Void, Never>?
    private var stopped = false

    final class Worker {
        enum State { case starting, idle, busy, stopping }
        let id: Int
        let revision: String
        var state = State.starting
        var process: ChildProcess?
        var server: HTTPServer?
        var waiter: CheckedContinuation<Invocation?, Never>?
        var current: Invocation?
        var lastActive = ContinuousClock.now
        let started = ContinuousClock.now
        /// Largest resident size seen by the maintenance loop, for REPORT lines.
        var peakBytes = 0
        init(id: Int, revision: String) {
            self.id = id
            self.revision = revision
        }
    }

    final class Invocation: @unchecked Sendable {
        let id: String
        let payload: [UInt8]
        let enqueued = ContinuousClock.now
        var deadline = Date()
        var started = ContinuousClock.now
        var timer: Task<Void, Never>?
        private var continuation: CheckedContinuation<InvokeOutcome, Never>?
        init(id: String, payload: [UInt8], continuation: CheckedContinuation<InvokeOutcome, Never>) {
            self.id = id
            self.payload = payload
            self.continuation = continuation
        }
        /// Resumes the caller once; later calls do nothing.
        func finish(_ outcome: InvokeOutcome) {
            timer?.cancel()
            continuation?.resume(returning: outcome)
            continuation = nil
        }
        var isFinished: Bool { continuation == nil }
    }

    init(config: FunctionConfig, logs: LogBook, bootstraps: String, region: String) {
        self.config = config
        self.logs = logs
        self.bootstraps = bootstraps
        self.region = region
    }

    var address: String { "function.\(config.name)" }

    // MARK: Lifecycle

    /// Starts maintenance and the warm workers; returns when `minInstances` are ready.
    func start() async throws {
        maintenance = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                await self?.maintain()
            }
        }
        try await warmUp()
    }

    /// Takes a new revision: idle workers of the old one stop now, busy ones after their call.
    func update(_ next: FunctionConfig) async throws {
        config = next
        for worker in workers.values where worker.revision != next.revision && worker.state != .busy {
            stopWorker(worker)
        }
        try await warmUp()
        dispatch()
    }

    /// Stops every worker and fails what is queued.
    func shutdown() async {
        stopped = true
        maintenance?.cancel()
        for invocation in queue { invocation.finish(.functionError(type: "Runtime.Unavailable", payload: FunctionPool.errorDocument("function \(config.name) was removed", type: "Runtime.Unavailable"))) }
        queue = []
        let processes = workers.values.compactMap { worker -> ChildProcess? in
            stopWorker(worker)
            return worker.process
        }
        for process in processes { _ = await process.wait() }
    }

    private func warmUp() async throws {
        guard config.runtime != .exec else { return }
        let warm = workers.values.filter { $0.revision == config.revision && $0.state != .stopping }.count
        for _ in 0..<max(0, config.minInstances - warm) { try spawnWorker() }
        // Wait until the warm workers ask for work, or fail if one cannot start.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let ready = workers.values.filter { $0.revision == config.revision && $0.state == .idle && $0.waiter != nil }.count
            if ready >= config.minInstances { return }
            if let error = stats.lastError, workers.values.filter({ $0.revision == config.revision && $0.state != .stopping }).count < config.minInstances {
                throw FunctionConfig.Failure(description: "function \(config.name) could not start its warm workers: \(error)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw FunctionConfig.Failure(description: "function \(config.name): warm workers not ready after 30 s")
    }

    func status() -> PoolStatus {
        var status = stats
        status.warm = workers.values.filter { $0.state == .idle }.count
        status.busy = workers.values.filter { $0.state == .busy }.count + (config.runtime == .exec ? running : 0)
        status.starting = workers.values.filter { $0.state == .starting }.count
        status.queued = queue.count
        return status
    }

    var workerPIDs: [pid_t] { workers.values.compactMap { $0.process?.pid } }

    // MARK: Invoking

    func invoke(_ payload: [UInt8], requestID: String = UUID().uuidString.lowercased()) async -> InvokeOutcome {
        stats.invocations += 1
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<InvokeOutcome, Never>) in
            let invocation = Invocation(id: requestID, payload: payload, continuation: continuation)
            queue.append(invocation)
            dispatch()
            // Still waiting (no ready worker): wait up to the function's timeout for one.
            if queue.contains(where: { $0 === invocation }) {
                let timeout = config.timeout
                invocation.timer = Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    guard !Task.isCancelled else { return }
                    await self?.queueTimedOut(invocation)
                }
            }
        }
        switch outcome {
        case .success: break
        case .throttled: stats.throttles += 1
        case .functionError(let type, let payload):
            stats.errors += 1
            stats.lastError = "\(type): \(FunctionPool.message(in: payload))"
        }
        return outcome
    }

    private func queueTimedOut(_ invocation: Invocation) {
        guard let index = queue.firstIndex(where: { $0 === invocation }) else { return }
        queue.remove(at: index)
        invocation.finish(.throttled)
    }

    /// Hands queued invocations to ready workers, and starts workers for the rest up to the cap.
    private func dispatch() {
        guard !stopped else { return }
        if config.runtime == .exec {
            while running < config.concurrency, !queue.isEmpty {
                let invocation = queue.removeFirst()
                invocation.timer?.cancel()
                running += 1
                Task { await self.runExec(invocation) }
            }
            return
        }
        while !queue.isEmpty {
            guard let worker = workers.values.first(where: { $0.state == .idle && $0.waiter != nil && $0.revision == config.revision }) else { break }
            assign(queue.removeFirst(), to: worker)
        }
        guard !queue.isEmpty else { return }
        let live = workers.values.filter { $0.state != .stopping }.count
        let starting = workers.values.filter { $0.state == .starting }.count
        let wanted = min(queue.count - starting, config.concurrency - live)
        for _ in 0..<max(0, wanted) {
            do { try spawnWorker() } catch {
                let invocation = queue.removeFirst()
                invocation.finish(.functionError(type: "Runtime.InvalidEntrypoint", payload: FunctionPool.errorDocument("\(error)", type: "Runtime.InvalidEntrypoint")))
            }
        }
    }

    private func assign(_ invocation: Invocation, to worker: Worker) {
        invocation.timer?.cancel()
        worker.state = .busy
        worker.current = invocation
        worker.lastActive = .now
        invocation.started = .now
        invocation.deadline = Date().addingTimeInterval(Double(config.timeout.components.seconds) + Double(config.timeout.components.attoseconds) / 1e18)
        let timeout = config.timeout
        let workerID = worker.id
        invocation.timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            await self?.invocationTimedOut(workerID, invocation)
        }
        logs.write(address, tag: invocation.id, "START RequestId: \(invocation.id) Version: $LATEST")
        let waiter = worker.waiter
        worker.waiter = nil
        waiter?.resume(returning: invocation)
    }

    private func invocationTimedOut(_ workerID: Int, _ invocation: Invocation) {
        guard let worker = workers[workerID], worker.current === invocation else { return }
        let seconds = String(format: "%.2f", Double(config.timeout.components.seconds) + Double(config.timeout.components.attoseconds) / 1e18)
        let message = "\(FunctionPool.timestamp()) \(invocation.id) Task timed out after \(seconds) seconds"
        logs.write(address, tag: invocation.id, message)
        worker.current = nil
        invocation.finish(.functionError(type: "Sandbox.Timedout", payload: FunctionPool.errorDocument(message, type: "Sandbox.Timedout")))
        stopWorker(worker, force: true)
    }

    // MARK: The Runtime API, as each worker sees it

    /// `GET …/invocation/next`: the worker is ready; suspends until there is work for it.
    func next(workerID: Int) async -> Invocation? {
        guard let worker = workers[workerID], worker.state != .stopping else { return nil }
        if worker.state == .starting {
            stats.coldStarts += 1
            let elapsed = ContinuousClock.now - worker.started
            logs.write(address, tag: "worker-\(workerID)", "INIT worker \(workerID) ready in \(FunctionPool.milliseconds(elapsed)) ms")
        }
        if let current = worker.current, !current.isFinished {
            // A `next` before answering the current call: Lambda treats it as no answer.
            current.finish(.functionError(type: "Runtime.NoResponse", payload: FunctionPool.errorDocument("the runtime asked for the next event without answering \(current.id)", type: "Runtime.NoResponse")))
        }
        worker.current = nil
        if worker.revision != config.revision {
            stopWorker(worker)
            return nil
        }
        worker.state = .idle
        worker.lastActive = .now
        return await withCheckedContinuation { continuation in
            worker.waiter = continuation
            dispatch()
        }
    }

    /// `POST …/invocation/ID/response` and `…/error`. False when the id is not the worker's.
    func complete(workerID: Int, requestID: String, outcome: InvokeOutcome) -> Bool {
        guard let worker = workers[workerID], let invocation = worker.current, invocation.id == requestID else { return false }
        worker.current = nil
        worker.lastActive = .now
        let duration = ContinuousClock.now - invocation.started
        let rss = worker.peakBytes / 1_048_576
        logs.write(address, tag: requestID, "END RequestId: \(requestID)")
        logs.write(address, tag: requestID, "REPORT RequestId: \(requestID) Duration: \(FunctionPool.milliseconds(duration)) ms Memory Size: \(config.memoryMB) MB Max Memory Used: \(rss) MB")
        invocation.finish(outcome)
        if worker.revision != config.revision { stopWorker(worker) }
        return true
    }

    /// `POST …/init/error`: the worker could not load the handler.
    func initFailed(workerID: Int, type: String, payload: [UInt8]) {
        let message = FunctionPool.message(in: payload)
        stats.lastError = "\(type): \(message)"
        logs.write(address, tag: "worker-\(workerID)", "INIT failed: \(type): \(message)")
        // The call that caused this cold start fails with the init error, as on Lambda.
        if let worker = workers[workerID], worker.state == .starting, !queue.isEmpty {
            queue.removeFirst().finish(.functionError(type: type, payload: payload))
        }
    }

    // MARK: Workers

    private func spawnWorker() throws {
        let id = nextWorkerID
        nextWorkerID += 1
        let worker = Worker(id: id, revision: config.revision)
        workers[id] = worker
        let config = self.config
        Task { await self.launch(worker, config) }
    }

    private func launch(_ worker: Worker, _ config: FunctionConfig) async {
        let workerID = worker.id
        do {
            let server = try await HTTPServer.start(port: 0, label: "runtime-api") { [weak self] request, _ in
                guard let self else { return Response(status: .gone) }
                return try await self.handleRuntimeAPI(request, workerID: workerID)
            }
            worker.server = server
            guard worker.state != .stopping else { server.stop(); workers[workerID] = nil; return }
            let address = self.address
            let logs = self.logs
            let process = try ChildProcess(
                argv: try FunctionPool.argv(config, bootstraps: bootstraps), environment: environment(config, runtimeAPI: "127.0.0.1:\(server.port)", workerID: workerID),
                directory: config.codeDirectory,
                onLine: { [weak self] stream, line in
                    Task { await self?.logLine(workerID: workerID, stream: stream, line: line, address: address, logs: logs) }
                },
                onExit: { [weak self] status in
                    Task { await self?.workerExited(workerID: workerID, status: status) }
                })
            worker.process = process
            Registry.shared.add(process, owner: self.address)
            if worker.state == .stopping { process.signalGroup(SIGKILL) }
        } catch {
            stats.lastError = "cannot start a worker: \(error)"
            logs.write(address, tag: "worker-\(workerID)", "cannot start a worker: \(error)")
            worker.server?.stop()
            workers[workerID] = nil
            if !queue.isEmpty {
                queue.removeFirst().finish(.functionError(type: "Runtime.InvalidEntrypoint", payload: FunctionPool.errorDocument("\(error)", type: "Runtime.InvalidEntrypoint")))
            }
        }
    }

    private func logLine(workerID: Int, stream: ChildProcess.Stream, line: String, address: String, logs: LogBook) {
        let tag = workers[workerID]?.current?.id ?? "worker-\(workerID)"
        logs.write(address, tag: tag, line)
    }

    private func workerExited(workerID: Int, status: Int32) {
        guard let worker = workers.removeValue(forKey: workerID) else { return }
        if let process = worker.process { Registry.shared.remove(process) }
        worker.server?.stop()
        worker.waiter?.resume(returning: nil)
        worker.waiter = nil
        let description = FunctionPool.describe(status)
        if let invocation = worker.current, !invocation.isFinished {
            let message = "RequestId: \(invocation.id) Error: Runtime exited with error: \(description)"
            logs.write(address, tag: invocation.id, message)
            invocation.finish(.functionError(type: "Runtime.ExitError", payload: FunctionPool.errorDocument(message, type: "Runtime.ExitError")))
        } else if worker.state == .starting {
            // Died before asking for work: fail the call that waited for it instead of looping.
            let message = "Runtime exited before it was ready: \(description)"
            stats.lastError = stats.lastError ?? message
            logs.write(address, tag: "worker-\(workerID)", message)
            if !queue.isEmpty {
                queue.removeFirst().finish(.functionError(type: "Runtime.ExitError", payload: FunctionPool.errorDocument(stats.lastError ?? message, type: "Runtime.ExitError")))
            }
        } else if worker.state != .stopping {
            logs.write(address, tag: "worker-\(workerID)", "worker \(workerID) exited: \(description)")
        }
        guard !stopped else { return }
        dispatch()
        let warm = workers.values.filter { $0.revision == config.revision && $0.state != .stopping }.count
        if config.runtime != .exec && warm < config.minInstances && worker.state != .starting {
            try? spawnWorker()
        }
    }

    private func stopWorker(_ worker: Worker, force: Bool = false) {
        guard worker.state != .stopping else {
            if force { worker.process?.signalGroup(SIGKILL) }
            return
        }
        worker.state = .stopping
        worker.waiter?.resume(returning: nil)
        worker.waiter = nil
        if let process = worker.process {
            if force {
                process.signalGroup(SIGKILL)
            } else {
                Task { await process.stop(grace: .seconds(2)) }
            }
        }
    }

    /// Idle scale-down, warm minimum, memory limit: every 200 ms.
    private func maintain() {
        guard !stopped else { return }
        let limit = config.memoryMB * 1_048_576
        for worker in workers.values where worker.state == .busy || worker.state == .idle {
            guard let process = worker.process else { continue }
            let rss = process.residentBytes()
            worker.peakBytes = max(worker.peakBytes, rss)
            if rss > limit {
                let message = "RequestId: \(worker.current?.id ?? "-") Error: Runtime exited with error: memory limit of \(config.memoryMB) MB exceeded (\(rss / 1_048_576) MB used)"
                logs.write(address, tag: worker.current?.id ?? "worker-\(worker.id)", message)
                if let invocation = worker.current {
                    worker.current = nil
                    invocation.finish(.functionError(type: "Runtime.OutOfMemory", payload: FunctionPool.errorDocument(message, type: "Runtime.OutOfMemory")))
                }
                stopWorker(worker, force: true)
            }
        }
        let idle = workers.values.filter { $0.state == .idle && $0.waiter != nil }.sorted { $0.lastActive < $1.lastActive }
        let live = workers.values.filter { $0.state != .stopping && $0.revision == config.revision }.count
        var surplus = live - config.minInstances
        for worker in idle where surplus > 0 && ContinuousClock.now - worker.lastActive >= config.idleTimeout {
            logs.write(address, tag: "worker-\(worker.id)", "worker \(worker.id) idle for \(config.idleTimeout); stopping it")
            stopWorker(worker)
            surplus -= 1
        }
        if config.runtime != .exec && live < config.minInstances {
            for _ in live..<config.minInstances { try? spawnWorker() }
        }
    }

    // MARK: exec

    private func runExec(_ invocation: Invocation) async {
        let outcome = await execute(invocation)
        invocation.finish(outcome)
        running -= 1
        dispatch()
    }

    private func execute(_ invocation: Invocation) async -> InvokeOutcome {
        let config = self.config
        let collector = OutputCollector()
        let address = self.address
        let logs = self.logs
        let process: ChildProcess
        logs.write(address, tag: invocation.id, "START RequestId: \(invocation.id) Version: $LATEST")
        do {
            process = try ChildProcess(
                argv: config.command, environment: environment(config, runtimeAPI: nil, workerID: nil), directory: config.codeDirectory, stdin: true,
                onLine: { stream, line in
                    if stream == .stdout { collector.append(line) } else { logs.write(address, tag: invocation.id, line) }
                },
                onExit: { _ in })
        } catch {
            return .functionError(type: "Runtime.InvalidEntrypoint", payload: FunctionPool.errorDocument("\(error)", type: "Runtime.InvalidEntrypoint"))
        }
        Registry.shared.add(process, owner: address)
        defer { Registry.shared.remove(process) }
        process.writeInputAndClose(invocation.payload)
        let started = ContinuousClock.now
        var killedFor: String?
        let limit = config.memoryMB * 1_048_576
        while !process.hasExited {
            if ContinuousClock.now - started > config.timeout {
                killedFor = "Task timed out after \(FunctionPool.milliseconds(config.timeout) / 1000) seconds"
                process.signalGroup(SIGKILL)
                break
            }
            if process.residentBytes() > limit {
                killedFor = "memory limit of \(config.memoryMB) MB exceeded"
                process.signalGroup(SIGKILL)
                break
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let status = await process.wait()
        logs.write(address, tag: invocation.id, "END RequestId: \(invocation.id)")
        logs.write(address, tag: invocation.id, "REPORT RequestId: \(invocation.id) Duration: \(FunctionPool.milliseconds(ContinuousClock.now - started)) ms Memory Size: \(config.memoryMB) MB")
        if let killedFor {
            let type = killedFor.hasPrefix("Task timed out") ? "Sandbox.Timedout" : "Runtime.OutOfMemory"
            return .functionError(type: type, payload: FunctionPool.errorDocument("\(FunctionPool.timestamp()) \(invocation.id) \(killedFor)", type: type))
        }
        let output = collector.text
        guard status == 0 else {
            let message = "RequestId: \(invocation.id) Error: Runtime exited with error: \(FunctionPool.describe(status))"
            return .functionError(type: "Runtime.ExitError", payload: FunctionPool.errorDocument(message, type: "Runtime.ExitError"))
        }
        // The result is stdout: JSON as is, anything else as a JSON string.
        let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
        if (try? ConfigValue(json: trimmed)) != nil { return .success(Array(trimmed.utf8)) }
        var quoted = ""
        ConfigValue.writeJSONString(output, into: &quoted)
        return .success(Array(quoted.utf8))
    }

    // MARK: Process set-up

    static func argv(_ config: FunctionConfig, bootstraps: String) throws -> [String] {
        switch config.runtime {
        case .python3: return ["python3", bootstraps + "/kumo_python_bootstrap.py"]
        case .node: return ["node", bootstraps + "/kumo_node_bootstrap.js"]
        case .provided: return config.command.isEmpty ? [config.codeDirectory + "/bootstrap"] : config.command
        case .exec: return config.command
        }
    }

    /// Only the declared environment and the Lambda-standard variables: never the runtime's own.
    func environment(_ config: FunctionConfig, runtimeAPI: String?, workerID: Int?) -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var env: [String: String] = [
            "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": config.codeDirectory,
            "LAMBDA_RUNTIME_DIR": bootstraps,
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": String(config.memoryMB),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": String(config.timeout.components.seconds),
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/\(config.name)",
            "AWS_LAMBDA_LOG_STREAM_NAME": "kumo/[$LATEST]\(workerID.map { "worker-\($0)" } ?? "exec")",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": "AWS_Lambda_\(config.runtime.rawValue)",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        ]
        if let handler = config.handler { env["_HANDLER"] = handler }
        if let runtimeAPI { env["AWS_LAMBDA_RUNTIME_API"] = runtimeAPI }
        env.merge(config.environment) { _, declared in declared }
        return env
    }

    nonisolated var arnPrefix: String { "arn:aws:lambda:\(region):000000000000:function:" }

    private func handleRuntimeAPI(_ request: Request, workerID: Int) async throws -> Response {
        let path = request.uri.path
        let prefix = "/2018-06-01/runtime/"
        guard path.hasPrefix(prefix) else { return .json(.notFound, "{\"errorMessage\":\"unknown path\"}") }
        let rest = path.dropFirst(prefix.count).split(separator: "/").map(String.init)
        switch (request.method, rest.count, rest.first) {
        case (.get, 2, "invocation") where rest[1] == "next":
            guard let invocation = await next(workerID: workerID) else {
                return .json(.gone, "{\"errorMessage\":\"worker stopped\",\"errorType\":\"Runtime.Stopped\"}")
            }
            var headers: HTTPFields = [:]
            headers[.named("Lambda-Runtime-Aws-Request-Id")] = invocation.id
            headers[.named("Lambda-Runtime-Deadline-Ms")] = String(Int64(invocation.deadline.timeIntervalSince1970 * 1000))
            headers[.named("Lambda-Runtime-Invoked-Function-Arn")] = arnPrefix + config.name
            headers[.named("Lambda-Runtime-Trace-Id")] = "Root=1-\(String(Int(Date().timeIntervalSince1970), radix: 16))-\(String(invocation.id.utf8.filter { $0 != UInt8(ascii: "-") }.prefix(24).map { Character(Unicode.Scalar($0)) }));Sampled=0"
            return .json(.ok, invocation.payload, headers: headers)
        case (.post, 3, "invocation") where rest[2] == "response" || rest[2] == "error":
            let body = try await request.bytes()
            let outcome: InvokeOutcome
            if rest[2] == "response" {
                outcome = .success(body)
            } else {
                let type = request.headers[.named("Lambda-Runtime-Function-Error-Type")] ?? (try? ConfigValue(json: String(decoding: body, as: UTF8.self)))?["errorType"]?.stringValue ?? "Unhandled"
                outcome = .functionError(type: type, payload: body)
            }
            guard complete(workerID: workerID, requestID: rest[1], outcome: outcome) else {
                return .json(.badRequest, "{\"errorMessage\":\"unknown request id \(rest[1])\",\"errorType\":\"InvalidRequestID\"}")
            }
            return .json(.accepted, "{\"status\":\"OK\"}")
        case (.post, 2, "init") where rest[1] == "error":
            let body = try await request.bytes()
            let type = request.headers[.named("Lambda-Runtime-Function-Error-Type")] ?? "Runtime.Unknown"
            initFailed(workerID: workerID, type: type, payload: body)
            return .json(.accepted, "{\"status\":\"OK\"}")
        default:
            return .json(.notFound, "{\"errorMessage\":\"unknown path\"}")
        }
    }

    // MARK: Helpers

    static func errorDocument(_ message: String, type: String) -> [UInt8] {
        Array(ConfigValue.object([("errorMessage", .string(message)), ("errorType", .string(type))]).compactJSON().utf8)
    }

    static func message(in payload: [UInt8]) -> String {
        (try? ConfigValue(json: String(decoding: payload, as: UTF8.self)))?["errorMessage"]?.stringValue ?? String(decoding: payload.prefix(200), as: UTF8.self)
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exit status \((status >> 8) & 0xFF)" }
        let names: [Int32: String] = [SIGKILL: "killed", SIGTERM: "terminated", SIGSEGV: "segmentation fault", SIGABRT: "aborted"]
        return "signal: \(names[signal] ?? String(signal))"
    }

    static func milliseconds(_ duration: Swift.Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    static func timestamp() -> String {
        WallClock.iso8601()
    }
}

/// Collects an exec function's standard output.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return lines.joined(separator: "\n")
    }
}
