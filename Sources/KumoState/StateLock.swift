import Foundation

/// Who holds the state lock.
public struct LockInfo: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var operation: String
    public var pid: Int32
    public var host: String
    public var user: String
    public var since: String
    /// The lock this one replaced: its holder had died (a PostgreSQL store knows, since the
    /// holder's session ended), so the lock was taken over without a manual unlock.
    public var tookOver: String?

    public var description: String {
        "lock \(id): '\(operation)' by \(user) (pid \(pid) on \(host)) since \(since)"
    }

    /// True when the holder is a process on this host that no longer runs.
    public var isStale: Bool {
        guard host == LockInfo.hostName else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    init(id: String, operation: String, pid: Int32, host: String, user: String, since: String) {
        self.id = id
        self.operation = operation
        self.pid = pid
        self.host = host
        self.user = user
        self.since = since
    }

    public init(operation: String) {
        id = UUID().uuidString.lowercased()
        self.operation = operation
        pid = getpid()
        host = LockInfo.hostName
        user = ProcessInfo.processInfo.environment["USER"] ?? String(getuid())
        since = stateTimestamp()
    }
}

/// Why the state lock could not be taken.
public enum StateLockFailure: Error, CustomStringConvertible {
    case held(LockInfo)
    case stale(LockInfo)
    case timedOut(LockInfo, seconds: Double)
    case store(StateError)

    public var description: String {
        switch self {
        case .held(let holder):
            return "the state is locked: \(holder)\nAnother kumo command is writing this state. Wait for it, or retry with --lock-timeout 30s."
        case .stale(let holder):
            return "the state is locked by a process that is no longer running (stale): \(holder)\nIf no kumo command is running, remove the lock with: kumo state unlock \(holder.id)"
        case .timedOut(let holder, let seconds):
            return "the state is still locked after waiting \(String(format: "%.1f", seconds)) s: \(holder)"
        case .store(let error):
            return error.description
        }
    }
}

extension StateLockFailure {
    /// The wait both stores take their lock with: `attempt` either takes the lock (returns
    /// nil) or names the holder that has it (or throws, e.g. for a stale holder). Without a
    /// `timeout` a held lock fails at once naming its holder; with one, attempts repeat with
    /// back-off (50 ms doubling to 1 s) until the time is up.
    static func waiting(timeout: Double, _ attempt: () throws(StateLockFailure) -> LockInfo?) throws(StateLockFailure) {
        let deadline = Date().addingTimeInterval(timeout)
        var delay = 0.05
        while let holder = try attempt() {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                if timeout > 0 { throw .timedOut(holder, seconds: timeout) }
                throw .held(holder)
            }
            Thread.sleep(forTimeInterval: min(delay, left))
            delay = min(delay * 2, 1)
        }
    }
}
