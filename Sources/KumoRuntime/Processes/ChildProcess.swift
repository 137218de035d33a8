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
    /// `cgroup` (a cgroup directory), the child joins it before the program starts.
    public init(
        argv: [String], environment: [String: String], directory: String?, stdin: Bool = false, cgroup: String? = nil,
        onLine: @escaping @Sendable (Stream, String) -> Void, onExit: @escaping @Sendable (Int32) -> Void
    ) throws {
        guard let program = argv.first, !program.isEmpty else { throw Failure(description: "empty command") }
        let path = try ChildProcess.resolve(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        self.argv = argv

        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0], inPipe: [Int32] = [-1, -1]
        guard kumo_pipe_cloexec(&outPipe) == 0, kumo_pipe_cloexec(&errPipe) == 0, !stdin || kumo_pipe_cloexec(&inPipe) == 0 else {
            throw Failure(description: "pipe: \(String(cString: strerror(errno)))")
        }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var spawned: pid_t = 0
        let status: Int32
        if let cgroup {
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
            throw Failure(description: "cannot start '\(program)': \(String(cString: strerror(status)))")
        }
        let child = spawned
        pid = child
        stdinFD = stdin ? inPipe[1] : -1
        startTicks = ChildProcess.startTicks(of: child) ?? 0

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
            readers.wait()  // every line is delivered before the exit is
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

    /// Resident memory of the worker process in bytes, read from /proc.
    public func residentBytes() -> Int {
        ChildProcess.residentBytes(of: pid) ?? 0
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

    /// Field 22 of /proc/PID/stat: start time in clock ticks after boot.
    public static func startTicks(of pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3), so field 22 is at index 19.
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    static func residentBytes(of pid: pid_t) -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return nil }
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
