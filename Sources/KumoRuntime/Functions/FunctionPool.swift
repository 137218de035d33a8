import Foundation
import KumoManifest
import NIOCore
import NIOHTTP1

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
///
/// Its state lives on the invoke loop (`InvokeLoop`): the gateway calls `invoke` there and the
/// workers' Runtime API servers run there, so a warm call never leaves that thread. The async
/// methods (start, update, shutdown, status) are for the runtime actor and hop onto the loop.
final class FunctionPool: @unchecked Sendable {
    let loop: any EventLoop
    private(set) var config: FunctionConfig
    let logs: LogBook
    let bootstraps: String
    let isolation: Isolation
    let region: String
    let address: String
    let arn: String
    private var workers: [Int: Worker] = [:]
    private var queue: [Invocation] = []
    private var nextWorkerID = 1
    private var running = 0  // exec invocations in flight
    private var stats = PoolStatus(warm: 0, busy: 0, starting: 0, queued: 0, invocations: 0, errors: 0, throttles: 0, coldStarts: 0, lastError: nil)
    private var maintenance: RepeatedTask?
    private var stopped = false
    /// Warm workers an autoscaler wants kept ready (nil: the function's `minInstances`).
    private var scaledWarm: Int?

    /// The warm workers maintenance keeps: the autoscaler's count, else `minInstances`; never
    /// above `concurrency`.
    private var warmFloor: Int { min(config.concurrency, scaledWarm ?? config.minInstances) }

    /// Touched only on the pool's loop.
    final class Worker: @unchecked Sendable {
        enum State { case starting, idle, busy, stopping }
        let id: Int
        let revision: String
        var state = State.starting
        var process: ChildProcess?
        /// Tags its output from its bootstrap's marks (python3 and node); nil otherwise.
        var output: WorkerOutput?
        var server: (any Channel)?
        /// The worker's parked `GET …/next`, answered with its next invocation.
        var waiter: LoopHTTPHandler?
        var current: Invocation?
        var lastActive = NIODeadline.now()
        let started = NIODeadline.now()
        /// Largest resident size seen by the maintenance task, for REPORT lines.
        var peakBytes = 0
        /// It reported an init error (which already failed the call that waited for it).
        var initFailed = false
        init(id: Int, revision: String) {
            self.id = id
            self.revision = revision
        }
    }

    /// Touched only on the pool's loop.
    final class Invocation: @unchecked Sendable {
        let id: String
        let payload: [UInt8]
        var deadlineMilliseconds: Int64 = 0
        var started = NIODeadline.now()
        var timer: Scheduled<Void>?
        private var completion: ((InvokeOutcome) -> Void)?
        init(id: String, payload: [UInt8], completion: @escaping (InvokeOutcome) -> Void) {
            self.id = id
            self.payload = payload
            self.completion = completion
        }
        /// Answers the caller once; later calls do nothing.
        func finish(_ outcome: InvokeOutcome) {
            timer?.cancel()
            timer = nil
            let completion = self.completion
            self.completion = nil
            completion?(outcome)
        }
        var isFinished: Bool { completion == nil }
    }

    /// Where each invocation's duration goes (`/metrics`).
    let metrics: RuntimeMetrics?

    init(config: FunctionConfig, logs: LogBook, bootstraps: String, region: String, isolation: Isolation, metrics: RuntimeMetrics? = nil,
         loop: any EventLoop = InvokeLoop.loop) {
        self.metrics = metrics
        self.isolation = isolation
        self.config = config
        self.logs = logs
        self.bootstraps = bootstraps
        self.region = region
        self.loop = loop
        address = "function.\(config.name)"
        arn = "arn:aws:lambda:\(region):000000000000:function:\(config.name)"
    }

    /// Runs `body` on the loop and returns its result.
    private func onLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await loop.submit(body).get()
    }

    // MARK: Lifecycle (from the runtime actor)

    /// Sets the warm workers an autoscaler keeps ready (nil gives the choice back to
    /// `minInstances`); maintenance starts or idles workers toward it.
    func setWarmWorkers(_ count: Int?) async {
        _ = try? await onLoop { self.scaledWarm = count }
    }

    /// Starts maintenance and the warm workers; returns when `minInstances` are ready.
    func start() async throws {
        try await onLoop {
            self.maintenance = self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) { _ in self.maintain() }
        }
        try await warmUp()
    }

    /// Takes a new revision: idle workers of the old one stop now, busy ones after their call.
    func update(_ next: FunctionConfig) async throws {
        try await onLoop {
            self.config = next
            for worker in self.workers.values where worker.revision != next.revision && worker.state != .busy {
                self.stopWorker(worker)
            }
        }
        try await warmUp()
        loop.execute { self.dispatch() }
    }

    /// Stops every worker and fails what is queued.
    func shutdown() async {
        let processes = (try? await onLoop { () -> [ChildProcess] in
            self.stopped = true
            self.maintenance?.cancel()
            for invocation in self.queue {
                invocation.finish(.functionError(type: "Runtime.Unavailable", payload: FunctionPool.errorDocument("function \(self.config.name) was removed", type: "Runtime.Unavailable")))
            }
            self.queue = []
            return self.workers.values.compactMap { worker -> ChildProcess? in
                self.stopWorker(worker)
                return worker.process
            }
        }) ?? []
        for process in processes { _ = await process.wait() }
    }

    private func warmUp() async throws {
        let name = try await onLoop { () -> String? in
            guard self.config.runtime != .exec else { return nil }
            let warm = self.workers.values.filter { $0.revision == self.config.revision && $0.state != .stopping }.count
            for _ in 0..<max(0, self.config.minInstances - warm) { try self.spawnWorker() }
            return self.config.name
        }
        guard let name else { return }
        // Wait until the warm workers ask for work, or fail if one cannot start.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let failure: String?? = try await onLoop {
                let revision = self.config.revision
                let ready = self.workers.values.filter { $0.revision == revision && $0.state == .idle && $0.waiter != nil }.count
                if ready >= self.config.minInstances { return .some(nil) }
                if let error = self.stats.lastError, self.workers.values.filter({ $0.revision == revision && $0.state != .stopping }).count < self.config.minInstances {
                    return .some(error)
                }
                return nil
            }
            if let failure {
                guard let error = failure else { return }
                throw RuntimeError("function \(name) could not start its warm workers: \(error)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw RuntimeError("function \(name): warm workers not ready after 30 s")
    }

    func status() async -> PoolStatus {
        (try? await onLoop {
            var status = self.stats
            status.warm = self.workers.values.filter { $0.state == .idle }.count
            status.busy = self.workers.values.filter { $0.state == .busy }.count + (self.config.runtime == .exec ? self.running : 0)
            status.starting = self.workers.values.filter { $0.state == .starting }.count
            status.queued = self.queue.count
            return status
        }) ?? PoolStatus(warm: 0, busy: 0, starting: 0, queued: 0, invocations: 0, errors: 0, throttles: 0, coldStarts: 0, lastError: "the invoke loop is gone")
    }

    var workerPIDs: [pid_t] {
        get async { (try? await onLoop { self.workers.values.compactMap { $0.process?.pid } }) ?? [] }
    }

    // MARK: Invoking (on the loop)

    /// Queues a call and answers `completion` on the loop with its outcome.
    func invoke(_ payload: [UInt8], requestID: String, completion: @escaping (InvokeOutcome) -> Void) {
        loop.preconditionInEventLoop()
        guard !stopped else {
            return completion(.functionError(type: "Runtime.Unavailable", payload: FunctionPool.errorDocument("function \(config.name) is stopping", type: "Runtime.Unavailable")))
        }
        stats.invocations += 1
        let queued = NIODeadline.now()
        let invocation = Invocation(id: requestID, payload: payload) { [self] outcome in
            metrics?.invoked(config.name, seconds: Double((NIODeadline.now() - queued).nanoseconds) / 1e9)
            switch outcome {
            case .success: break
            case .throttled: stats.throttles += 1
            case .functionError(let type, let payload):
                stats.errors += 1
                stats.lastError = "\(type): \(FunctionPool.message(in: payload))"
            }
            completion(outcome)
        }
        queue.append(invocation)
        dispatch()
        // Still waiting (no ready worker): wait up to the function's timeout for one.
        if queue.contains(where: { $0 === invocation }) {
            invocation.timer = loop.scheduleTask(in: FunctionPool.timeAmount(config.timeout)) { [self] in queueTimedOut(invocation) }
        }
    }

    /// `invoke` from outside the loop.
    func invoke(_ payload: [UInt8], requestID: String = UUID().uuidString.lowercased()) async -> InvokeOutcome {
        await withCheckedContinuation { continuation in
            loop.execute { self.invoke(payload, requestID: requestID) { continuation.resume(returning: $0) } }
        }
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
                let config = self.config
                Task {
                    let outcome = await self.execute(invocation.id, invocation.payload, config)
                    self.loop.execute {
                        invocation.finish(outcome)
                        self.running -= 1
                        self.dispatch()
                    }
                }
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
        worker.lastActive = .now()
        invocation.started = .now()
        invocation.deadlineMilliseconds = WallClock.milliseconds() + Int64(FunctionPool.milliseconds(config.timeout))
        let workerID = worker.id
        invocation.timer = loop.scheduleTask(in: FunctionPool.timeAmount(config.timeout)) { [self] in invocationTimedOut(workerID, invocation) }
        // Logged before the event leaves, so that START precedes anything the handler prints.
        logs.write(address, tag: invocation.id, "START RequestId: \(invocation.id) Version: $LATEST")
        let waiter = worker.waiter
        worker.waiter = nil
        waiter?.respond(nextResponse(invocation))
    }

    /// The answer to `GET …/invocation/next`: the event and the Lambda headers.
    private func nextResponse(_ invocation: Invocation) -> LoopResponse {
        let compact = invocation.id.utf8.lazy.filter { $0 != UInt8(ascii: "-") }.prefix(24)
        let trace = "Root=1-\(String(WallClock.milliseconds() / 1000, radix: 16))-\(String(decoding: Array(compact), as: UTF8.self));Sampled=0"
        return .json(.ok, invocation.payload, headers: HTTPHeaders([
            ("Lambda-Runtime-Aws-Request-Id", invocation.id),
            ("Lambda-Runtime-Deadline-Ms", String(invocation.deadlineMilliseconds)),
            ("Lambda-Runtime-Invoked-Function-Arn", arn),
            ("Lambda-Runtime-Trace-Id", trace),
        ]))
    }

    private func invocationTimedOut(_ workerID: Int, _ invocation: Invocation) {
        guard let worker = workers[workerID], worker.current === invocation else { return }
        let seconds = String(format: "%.2f", Double(FunctionPool.milliseconds(config.timeout)) / 1000)
        let message = "\(FunctionPool.timestamp()) \(invocation.id) Task timed out after \(seconds) seconds"
        logs.write(address, tag: invocation.id, message)
        worker.current = nil
        invocation.finish(.functionError(type: "Sandbox.Timedout", payload: FunctionPool.errorDocument(message, type: "Sandbox.Timedout")))
        stopWorker(worker, force: true)
    }

    // MARK: The Runtime API, as each worker sees it

    /// One request to a worker's Runtime API.
    private func runtimeAPI(_ request: LoopRequest, _ handler: LoopHTTPHandler, workerID: Int) {
        let prefix = "/2018-06-01/runtime/"
        let path = request.path
        guard path.hasPrefix(prefix) else { return handler.respond(.json(.notFound, "{\"errorMessage\":\"unknown path\"}")) }
        let rest = path.dropFirst(prefix.count).split(separator: "/")
        switch (request.head.method, rest.count, rest.first) {
        case (.GET, 2, "invocation") where rest[1] == "next":
            next(workerID: workerID, handler)
        case (.POST, 3, "invocation") where rest[2] == "response" || rest[2] == "error":
            let outcome: InvokeOutcome
            if request.tooLarge {
                outcome = .functionError(type: "Function.ResponseSizeTooLarge", payload: FunctionPool.errorDocument(
                    "Response payload size exceeded maximum allowed payload size (\(FunctionPool.payloadLimit) bytes).", type: "Function.ResponseSizeTooLarge"))
            } else if rest[2] == "response" {
                outcome = .success(request.body)
            } else {
                let type = request.head.headers.first(name: "Lambda-Runtime-Function-Error-Type")
                    ?? (try? ConfigValue(json: String(decoding: request.body, as: UTF8.self)))?["errorType"]?.stringValue ?? "Unhandled"
                outcome = .functionError(type: type, payload: request.body)
            }
            guard complete(workerID: workerID, requestID: String(rest[1]), outcome: outcome) else {
                return handler.respond(.json(.badRequest, "{\"errorMessage\":\"unknown request id \(rest[1])\",\"errorType\":\"InvalidRequestID\"}"))
            }
            handler.respond(.json(request.tooLarge ? .payloadTooLarge : .accepted, "{\"status\":\"OK\"}"))
        case (.POST, 2, "init") where rest[1] == "error":
            let type = request.head.headers.first(name: "Lambda-Runtime-Function-Error-Type") ?? "Runtime.Unknown"
            initFailed(workerID: workerID, type: type, payload: request.body)
            handler.respond(.json(.accepted, "{\"status\":\"OK\"}"))
        default:
            handler.respond(.json(.notFound, "{\"errorMessage\":\"unknown path\"}"))
        }
    }

    /// `GET …/invocation/next`: the worker is ready; its request is parked until there is work.
    private func next(workerID: Int, _ handler: LoopHTTPHandler) {
        let stoppedAnswer = LoopResponse.json(.gone, "{\"errorMessage\":\"worker stopped\",\"errorType\":\"Runtime.Stopped\"}")
        guard let worker = workers[workerID], worker.state != .stopping else { return handler.respond(stoppedAnswer) }
        if worker.state == .starting {
            stats.coldStarts += 1
            logs.write(address, tag: "worker-\(workerID)", "INIT worker \(workerID) ready in \(FunctionPool.milliseconds(NIODeadline.now() - worker.started)) ms")
        }
        if let current = worker.current, !current.isFinished {
            // A `next` before answering the current call: Lambda treats it as no answer.
            current.finish(.functionError(type: "Runtime.NoResponse", payload: FunctionPool.errorDocument("the runtime asked for the next event without answering \(current.id)", type: "Runtime.NoResponse")))
        }
        worker.current = nil
        if worker.revision != config.revision {
            stopWorker(worker)
            return handler.respond(stoppedAnswer)
        }
        worker.state = .idle
        worker.lastActive = .now()
        // A second `next` while one is parked (a client that reconnected): the older one ends.
        worker.waiter?.respond(stoppedAnswer)
        worker.waiter = handler
        dispatch()
    }

    /// The worker's connection closed while its `next` was parked.
    private func waiterClosed(workerID: Int, _ handler: LoopHTTPHandler) {
        if let worker = workers[workerID], worker.waiter === handler { worker.waiter = nil }
    }

    /// `POST …/invocation/ID/response` and `…/error`. False when the id is not the worker's.
    private func complete(workerID: Int, requestID: String, outcome: InvokeOutcome) -> Bool {
        guard let worker = workers[workerID], let invocation = worker.current, invocation.id == requestID else { return false }
        worker.current = nil
        worker.lastActive = .now()
        let duration = NIODeadline.now() - invocation.started
        invocation.finish(outcome)
        let lines = [
            "END RequestId: \(requestID)",
            "REPORT RequestId: \(requestID) Duration: \(FunctionPool.milliseconds(duration)) ms Memory Size: \(config.memoryMB) MB Max Memory Used: \(worker.peakBytes / 1_048_576) MB",
        ]
        // After everything the handler printed, which the pipe may still be delivering: when the
        // bootstrap marks the end (or after WorkerOutput.patience, from maintain()).
        if let output = worker.output {
            output.finished(requestID, lines)
        } else {
            logs.write(address, tag: requestID, lines)
        }
        if worker.revision != config.revision { stopWorker(worker) }
        return true
    }

    /// `POST …/init/error`: the worker could not load the handler.
    private func initFailed(workerID: Int, type: String, payload: [UInt8]) {
        let message = FunctionPool.message(in: payload)
        stats.lastError = "\(type): \(message)"
        logs.write(address, tag: "worker-\(workerID)", "INIT failed: \(type): \(message)")
        // The call that caused this cold start fails with the init error, as on Lambda.
        if let worker = workers[workerID], worker.state == .starting, !worker.initFailed {
            worker.initFailed = true
            if !queue.isEmpty { queue.removeFirst().finish(.functionError(type: type, payload: payload)) }
        }
    }

    // MARK: Workers

    /// Opens the worker's Runtime API port on the loop, then starts its process.
    private func spawnWorker() throws {
        let id = nextWorkerID
        nextWorkerID += 1
        let worker = Worker(id: id, revision: config.revision)
        workers[id] = worker
        let config = self.config
        LoopHTTPHandler.bind(port: 0, on: loop) { [self] in
            LoopHTTPHandler(limit: FunctionPool.payloadLimit,
                            handle: { request, handler in self.runtimeAPI(request, handler, workerID: id) },
                            closed: { handler in self.waiterClosed(workerID: id, handler) })
        }.whenComplete { [self] result in
            switch result {
            case .success(let server): launch(worker, config, server: server)
            case .failure(let error): launchFailed(worker, error)
            }
        }
    }

    private func launch(_ worker: Worker, _ config: FunctionConfig, server: any Channel) {
        let workerID = worker.id
        worker.server = server
        guard worker.state != .stopping else { server.close(promise: nil); workers[workerID] = nil; return }
        do {
            let address = self.address
            let logs = self.logs
            let loop = self.loop
            // Kumo's own bootstraps mark where each invocation's output starts and ends.
            let mark = config.runtime == .python3 || config.runtime == .node ? WorkerOutput.token() : nil
            let output = mark.map { WorkerOutput(address: address, logs: logs, workerID: workerID, mark: $0, markedStreams: config.runtime == .python3 ? 1 : 2) }
            worker.output = output
            var env = environment(config, runtimeAPI: "127.0.0.1:\(server.localAddress?.port ?? 0)", workerID: workerID)
            if let mark { env["_KUMO_LOG_MARK"] = mark }
            let process = try ChildProcess(
                argv: try FunctionPool.argv(config, bootstraps: bootstraps),
                environment: env,
                directory: config.codeDirectory, isolation: isolation,
                onLine: { [weak self] stream, line in
                    if let output { return output.line(stream, line) }
                    guard let pool = self else { return }
                    loop.execute { pool.logLine(workerID: workerID, line: line, address: address, logs: logs) }
                },
                onExit: { [weak self] status in
                    guard let pool = self else { return }
                    loop.execute { pool.workerExited(workerID: workerID, status: status) }
                })
            worker.process = process
            Registry.shared.add(process, owner: address)
            if worker.state == .stopping { process.signalGroup(SIGKILL) }
        } catch {
            launchFailed(worker, error)
        }
    }

    private func launchFailed(_ worker: Worker, _ error: any Error) {
        stats.lastError = "cannot start a worker: \(error)"
        logs.write(address, tag: "worker-\(worker.id)", "cannot start a worker: \(error)")
        worker.server?.close(promise: nil)
        workers[worker.id] = nil
        if !queue.isEmpty {
            queue.removeFirst().finish(.functionError(type: "Runtime.InvalidEntrypoint", payload: FunctionPool.errorDocument("\(error)", type: "Runtime.InvalidEntrypoint")))
        }
    }

    /// A line of a worker without marks: tagged with its current call, if any.
    private func logLine(workerID: Int, line: String, address: String, logs: LogBook) {
        let tag = workers[workerID]?.current?.id ?? "worker-\(workerID)"
        logs.write(address, tag: tag, line)
    }

    private func workerExited(workerID: Int, status: Int32) {
        guard let worker = workers.removeValue(forKey: workerID) else { return }
        if let process = worker.process { Registry.shared.remove(process) }
        // Every line was delivered before the exit: END lines still waiting for a mark go now.
        worker.output?.flushWaiting(all: true)
        worker.server?.close(promise: nil)
        worker.waiter = nil
        let description = FunctionPool.describe(status)
        if let invocation = worker.current, !invocation.isFinished {
            let message = "RequestId: \(invocation.id) Error: Runtime exited with error: \(description)"
            logs.write(address, tag: invocation.id, message)
            invocation.finish(.functionError(type: "Runtime.ExitError", payload: FunctionPool.errorDocument(message, type: "Runtime.ExitError")))
        } else if worker.state == .starting && !worker.initFailed {
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
        if config.runtime != .exec && warm < warmFloor && worker.state != .starting {
            try? spawnWorker()
        }
    }

    private func stopWorker(_ worker: Worker, force: Bool = false) {
        guard worker.state != .stopping else {
            if force { worker.process?.signalGroup(SIGKILL) }
            return
        }
        worker.state = .stopping
        let waiter = worker.waiter
        worker.waiter = nil
        waiter?.respond(.json(.gone, "{\"errorMessage\":\"worker stopped\",\"errorType\":\"Runtime.Stopped\"}"))
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
        let limit = MemoryLimit(megabytes: config.memoryMB)
        for worker in workers.values where worker.state == .busy || worker.state == .idle {
            worker.output?.flushWaiting()
            guard let process = worker.process else { continue }
            let reading = limit.check(process)
            worker.peakBytes = max(worker.peakBytes, reading.residentBytes)
            if reading.exceeded {
                let message = "RequestId: \(worker.current?.id ?? "-") Error: Runtime exited with error: \(limit.message(reading))"
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
        var surplus = live - warmFloor
        let idleTimeout = FunctionPool.timeAmount(config.idleTimeout)
        for worker in idle where surplus > 0 && NIODeadline.now() - worker.lastActive >= idleTimeout {
            logs.write(address, tag: "worker-\(worker.id)", "worker \(worker.id) idle for \(config.idleTimeout); stopping it")
            stopWorker(worker)
            surplus -= 1
        }
        if config.runtime != .exec && live < warmFloor {
            for _ in live..<warmFloor { try? spawnWorker() }
        }
    }

    // MARK: exec

    /// One exec invocation: a process with the event on stdin and the result on stdout.
    private func execute(_ requestID: String, _ payload: [UInt8], _ config: FunctionConfig) async -> InvokeOutcome {
        let collector = OutputCollector()
        let address = self.address
        let logs = self.logs
        let process: ChildProcess
        logs.write(address, tag: requestID, "START RequestId: \(requestID) Version: $LATEST")
        do {
            process = try ChildProcess(
                argv: config.command, environment: environment(config, runtimeAPI: nil, workerID: nil), directory: config.codeDirectory, stdin: true,
                isolation: isolation,
                onLine: { stream, line in
                    if stream == .stdout { collector.append(line) } else { logs.write(address, tag: requestID, line) }
                },
                onExit: { _ in })
        } catch {
            return .functionError(type: "Runtime.InvalidEntrypoint", payload: FunctionPool.errorDocument("\(error)", type: "Runtime.InvalidEntrypoint"))
        }
        Registry.shared.add(process, owner: address)
        defer { Registry.shared.remove(process) }
        process.writeInputAndClose(payload)
        let started = ContinuousClock.now
        let limit = MemoryLimit(megabytes: config.memoryMB)
        let timeout = config.timeout
        // The exit ends the call at once; beside it a watchdog checks the timeout and the memory
        // every 5 ms (polling for the exit too made every call last at least one interval).
        let killedFor: String? = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                _ = await process.wait()
                return nil
            }
            group.addTask {
                while !Task.isCancelled {
                    if ContinuousClock.now - started > timeout {
                        process.signalGroup(SIGKILL)
                        return "Task timed out after \(FunctionPool.milliseconds(timeout) / 1000) seconds"
                    }
                    if limit.check(process).exceeded {
                        process.signalGroup(SIGKILL)
                        return limit.message()
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let status = await process.wait()
        logs.write(address, tag: requestID, "END RequestId: \(requestID)")
        logs.write(address, tag: requestID, "REPORT RequestId: \(requestID) Duration: \(FunctionPool.milliseconds(ContinuousClock.now - started)) ms Memory Size: \(config.memoryMB) MB")
        if let killedFor {
            let type = killedFor.hasPrefix("Task timed out") ? "Sandbox.Timedout" : "Runtime.OutOfMemory"
            return .functionError(type: type, payload: FunctionPool.errorDocument("\(FunctionPool.timestamp()) \(requestID) \(killedFor)", type: type))
        }
        let output = collector.text
        guard status == 0 else {
            let message = "RequestId: \(requestID) Error: Runtime exited with error: \(FunctionPool.describe(status))"
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

    // MARK: Helpers

    /// Lambda's payload limit for events and results (6 MB).
    static let payloadLimit = 6 * 1024 * 1024

    static func timeAmount(_ duration: Swift.Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    static func milliseconds(_ amount: TimeAmount) -> Int {
        Int(amount.nanoseconds / 1_000_000)
    }

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
