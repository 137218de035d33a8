import CKumoSpawn
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started from an argv with an exact environment (never through a shell), in
/// its own process group so that it and everything it starts can be stopped together.
///
/// Output is read line by line on background threads and handed to `onLine`; `onExit` runs
/// once when the process ends, with its wait status.
public final class ChildProcess: @unchecked Sendable {
    public enum Stream: String, Sendable { case stdout, stderr }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let pid: pid_t
    public let argv: [String]
    /// The process's start time in clock ticks since boot (`/proc/PID/stat` field 22), which
    /// tells this process from a later one that reuses its pid.
    public let startTicks: UInt64
    private let stdinFD: Int32
    private let lock = NSLock()
    private var exitStatus: Int32?
    private var exitWaiters: [CheckedContinuation<Int32, Never>] = []

    /// Starts `argv[0]` (looked up in `PATH` of `environment` when it has no slash); with
    /// `cgroup` (a cgroup directory), the child joins it before the program starts. With an
    /// available `isolation`, the program runs under `kumo-init` in namespaces of its own: `pid`
    /// is kumo-init's, and `onExit` gets the program's own wait status (or kumo-init's, when it
    /// was killed: then so was everything in the namespace).
    public init(
        argv: [String], environment: [String: String], directory: String?, stdin: Bool = false, cgroup: String? = nil,
        isolation: Isolation? = nil,
        onLine: @escaping @Sendable (Stream, String) -> Void, onExit: @escaping @Sendable (Int32) -> Void
    ) throws {
        guard let program = argv.first, !program.isEmpty else { throw Failure(description: "empty command") }
        var path = try ChildProcess.resolve(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        self.argv = argv
        var spawnArgv = argv
        var statusPipe: [Int32] = [-1, -1]
        if let isolation, let initPath = isolation.initPath {
            guard kumo_pipe_cloexec(&statusPipe) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
            spawnArgv = [initPath, "--status-fd", "3", "--", path] + argv.dropFirst()
            path = initPath
        }

        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0], inPipe: [Int32] = [-1, -1]
        guard kumo_pipe_cloexec(&outPipe) == 0, kumo_pipe_cloexec(&errPipe) == 0, !stdin || kumo_pipe_cloexec(&inPipe) == 0 else {
            throw Failure(description: "pipe: \(String(cString: strerror(errno)))")
        }
        let cArgs = spawnArgv.map { strdup($0) } + [nil]
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let cHidden = (isolation?.hidden ?? []).map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
            cHidden.forEach { free($0) }
        }
        var spawned: pid_t = 0
        var status: Int32
        var failedStage: Int32 = 0
        if let isolation, isolation.isAvailable {
            let procs = cgroup.map { open($0 + "/cgroup.procs", O_WRONLY | O_CLOEXEC) } ?? -1
            status = kumo_spawn_isolated(&spawned, path, cArgs, cEnv, directory, stdin ? inPipe[0] : -1, outPipe[1], errPipe[1], procs,
                                         statusPipe[1], isolation.userMap?.uid, isolation.userMap?.gid, cHidden, &failedStage)
            if procs >= 0 { close(procs) }
            close(statusPipe[1])
            if status != 0 { close(statusPipe[0]) }
        } else if let cgroup {
            let procs = open(cgroup + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            status = kumo_spawn_into(&spawned, path, cArgs, cEnv, directory, stdin ? inPipe[0] : -1, outPipe[1], errPipe[1], procs)
            if procs >= 0 { close(procs) }
        } else {
            status = kumo_spawn(&spawned, path, cArgs, cEnv, directory, stdin ? inPipe[0] : -1, outPipe[1], errPipe[1])
        }
        close(outPipe[1])
        close(errPipe[1])
        if stdin { close(inPipe[0]) }
        guard status == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            if stdin { close(inPipe[1]) }
            if failedStage != 0 && failedStage != Int32(KUMO_STAGE_EXEC) {
                throw Failure(description: "cannot start '\(program)' isolated: \(Isolation.describe(stage: failedStage, error: status))")
            }
            throw Failure(description: "cannot start '\(program)': \(String(cString: strerror(status)))")
        }
        let child = spawned
        let statusFD = statusPipe[0]
        pid = child
        stdinFD = stdin ? inPipe[1] : -1
        startTicks = ChildProcess.startTicks(of: child) ?? 0

        // The output pipes' inode: whoever still holds them after the process ended escaped it.
        var pipeInfo = stat()
        let pipeInode = fstat(outPipe[0], &pipeInfo) == 0 ? UInt64(pipeInfo.st_ino) : 0
        let readers = DispatchGroup()
        for (fd, stream) in [(outPipe[0], Stream.stdout), (errPipe[0], Stream.stderr)] {
            readers.enter()
            Thread.detachNewThread {
                ChildProcess.readLines(fd) { onLine(stream, $0) }
                close(fd)
                readers.leave()
            }
        }
        Thread.detachNewThread { [self] in
            var raw: Int32 = 0
            while waitpid(child, &raw, 0) < 0 && errno == EINTR {}
            if statusFD >= 0 {
                // kumo-init wrote the program's status before it exited, unless it was killed.
                var programStatus: Int32 = 0
                if read(statusFD, &programStatus, 4) == 4 { raw = programStatus }
                close(statusFD)
            }
            // Every line is delivered before the exit is. Without isolation a process can escape
            // the group (setsid) holding the pipes open: after a grace period the group and
            // every process that still holds them are killed, and the exit delivered.
            if readers.wait(timeout: .now() + ChildProcess.outputGrace) == .timedOut {
                kill(-child, SIGKILL)
                ChildProcess.killHolders(ofPipe: pipeInode)
                _ = readers.wait(timeout: .now() + ChildProcess.outputGrace)
            }
            lock.lock()
            exitStatus = raw
            let waiters = exitWaiters
            exitWaiters = []
            lock.unlock()
            onExit(raw)
            for waiter in waiters { waiter.resume(returning: raw) }
        }
    }

    /// Writes `bytes` to the child's standard input and closes it.
    public func writeInputAndClose(_ bytes: [UInt8]) {
        guard stdinFD >= 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; break }
            offset += n
        }
        close(stdinFD)
    }

    public var hasExited: Bool {
        lock.lock()
        defer { lock.unlock() }
        return exitStatus != nil
    }

    /// Waits for the process to end and returns its wait status.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let exitStatus {
                lock.unlock()
                continuation.resume(returning: exitStatus)
            } else {
                exitWaiters.append(continuation)
                lock.unlock()
            }
        }
    }

    /// Sends `signal` to the whole process group.
    public func signalGroup(_ signal: Int32) {
        if !hasExited || kill(-pid, 0) == 0 { kill(-pid, signal) }
    }

    /// SIGTERM to the group, then SIGKILL after `grace` if it is still running.
    public func stop(grace: Duration) async {
        signalGroup(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while !hasExited && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        signalGroup(SIGKILL)
        _ = await wait()
    }

    /// How long after the process ends its output pipes may stay open before the exit is
    /// delivered anyway.
    static let outputGrace: DispatchTimeInterval = .seconds(2)

    /// Resident memory of the process and every process below it, in bytes, read from /proc.
    public func residentBytes() -> Int {
        ChildProcess.treeResidentBytes(of: pid)
    }

    /// SIGKILL to every process that has the pipe `inode` open (found through /proc/*/fd).
    static func killHolders(ofPipe inode: UInt64) {
        guard inode != 0 else { return }
        let target = "pipe:[\(inode)]"
        let me = getpid()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), pid != me else { continue }
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            if descriptors.contains(where: { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == target }) {
                kill(pid, SIGKILL)
            }
        }
    }

    /// Waits, blocking the calling thread, for the process to end (for short-lived probes).
    func waitBlocking() -> Int32 {
        while true {
            lock.lock()
            if let exitStatus {
                lock.unlock()
                return exitStatus
            }
            lock.unlock()
            usleep(1000)
        }
    }

    // MARK: Helpers

    static func resolve(_ program: String, path: String) throws -> String {
        if program.contains("/") { return program }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw Failure(description: "'\(program)' was not found in PATH")
    }

    static func readLines(_ fd: Int32, _ deliver: (String) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == 0x0A {
                pending.append(contentsOf: buffer[start..<i])
                deliver(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
                start = i + 1
            }
            pending.append(contentsOf: buffer[start..<n])
            if pending.count > 64 * 1024 {  // a very long line: deliver it in pieces
                deliver(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            }
        }
        if !pending.isEmpty { deliver(String(decoding: pending, as: UTF8.self)) }
    }

    /// A small /proc file, read with plain system calls. The memory watchdogs read several per
    /// worker five times a second; Foundation's `String(contentsOfFile:)` kept about 4 KB of
    /// each read of an empty one (a process's `children`), which the soak saw as 80 KB/s of
    /// resident growth with four idle workers.
    static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 1 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Field 22 of /proc/PID/stat: start time in clock ticks after boot.
    public static func startTicks(of pid: pid_t) -> UInt64? {
        guard let stat = readProcFile("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3), so field 22 is at index 19.
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// The resident size of `pid` and its descendants (through each process's main thread's
    /// `children` list: an isolated program's are below its kumo-init).
    static func treeResidentBytes(of root: pid_t) -> Int {
        tree(of: root).reduce(0) { $0 + (residentBytes(of: $1) ?? 0) }
    }

    /// A process and its descendants (at most 4,096), from /proc's children lists.
    static func tree(of root: pid_t) -> [pid_t] {
        var result: [pid_t] = []
        var pending = [root]
        while let pid = pending.popLast(), result.count < 4096 {
            result.append(pid)
            guard let children = readProcFile("/proc/\(pid)/task/\(pid)/children") else { continue }
            pending.append(contentsOf: children.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        }
        return result
    }

    /// CPU time (user + system) used so far by a process and its descendants, in seconds.
    static func treeCPUSeconds(of root: pid_t) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return tree(of: root).reduce(0) { total, pid in
            // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
            guard let stat = readProcFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return total }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return total }
            return total + (user + system) / ticks
        }
    }

    static func residentBytes(of pid: pid_t) -> Int? {
        guard let statm = readProcFile("/proc/\(pid)/statm") else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension ChildProcess {
    /// Starts a daemon in its own session with output appended to `logPath`; returns its pid.
    public static func daemon(argv: [String], environment: [String: String], directory: String?, logPath: String) throws -> pid_t {
        guard let program = argv.first else { throw Failure(description: "empty command") }
        let path = try resolve(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = kumo_spawn_daemon(&pid, path, cArgs, cEnv, directory, fd)
        guard status == 0 else { throw Failure(description: "cannot start '\(program)': \(String(cString: strerror(status)))") }
        return pid
    }
}
