import Foundation
import GRDB
import KumoPlan

/// Who holds the state lock.
public struct LockInfo: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var operation: String
    public var pid: Int32
    public var host: String
    public var user: String
    public var since: String

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

    init(row: Row) {
        id = row["id"]
        operation = row["operation"]
        pid = Int32(truncatingIfNeeded: row["pid"] as Int64)
        host = row["host"]
        user = row["user"]
        since = row["since"]
    }

    public init(operation: String) {
        id = UUID().uuidString.lowercased()
        self.operation = operation
        pid = getpid()
        host = LockInfo.hostName
        user = ProcessInfo.processInfo.environment["USER"] ?? String(getuid())
        since = StateStore.timestamp()
    }
}

extension StateStore {
    public enum LockFailure: Error, CustomStringConvertible {
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

    /// Takes the state lock for `operation`. When it is held, fails at once, or with `timeout`
    /// retries with exponential back-off (50 ms doubling to 1 s) until the time is up. A lock
    /// whose holder is dead is reported as stale and never taken over silently.
    public func lock(operation: String, timeout: Double = 0) throws(LockFailure) -> LockInfo {
        let deadline = Date().addingTimeInterval(timeout)
        var delay = 0.05
        while true {
            let mine = LockInfo(operation: operation)
            let holder: LockInfo?
            do {
                holder = try tryLock(mine)
            } catch {
                throw .store(error)
            }
            guard let holder else { return mine }
            if holder.isStale { throw .stale(holder) }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                if timeout > 0 { throw .timedOut(holder, seconds: timeout) }
                throw .held(holder)
            }
            Thread.sleep(forTimeInterval: min(delay, left))
            delay = min(delay * 2, 1)
        }
    }

    /// Inserts the lock row unless one exists; returns the existing holder, or nil on success.
    func tryLock(_ info: LockInfo) throws(StateError) -> LockInfo? {
        do {
            return try queue.writeWithoutTransaction { db in
                var holder: LockInfo?
                try db.inTransaction(.immediate) {
                    if let row = try Row.fetchOne(db, sql: "SELECT * FROM lock WHERE single = 1") {
                        holder = LockInfo(row: row)
                        return .rollback
                    }
                    try db.execute(sql: "INSERT INTO lock (single, id, operation, pid, host, user, since) VALUES (1, ?, ?, ?, ?, ?, ?)",
                                   arguments: [info.id, info.operation, Int64(info.pid), info.host, info.user, info.since])
                    return .commit
                }
                return holder
            }
        } catch {
            throw StateError("cannot lock the state at '\(path)': \(error)")
        }
    }

    /// Releases `lock` if it is still the one held.
    public func unlock(_ lock: LockInfo) throws(StateError) {
        do {
            try queue.write { db in try db.execute(sql: "DELETE FROM lock WHERE single = 1 AND id = ?", arguments: [lock.id]) }
        } catch {
            throw StateError("cannot release the state lock: \(error)")
        }
    }

    /// `kumo state unlock ID`: removes the lock with this id; returns what was removed.
    public func forceUnlock(id: String) throws(StateError) -> LockInfo {
        do {
            return try queue.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM lock WHERE single = 1") else {
                    throw StateError("the state is not locked")
                }
                let holder = LockInfo(row: row)
                guard holder.id == id else { throw StateError("the state is locked with id \(holder.id), not \(id); nothing removed") }
                try db.execute(sql: "DELETE FROM lock WHERE single = 1")
                return holder
            }
        } catch let error as StateError { throw error } catch {
            throw StateError("cannot remove the state lock: \(error)")
        }
    }

    /// The current holder, if any.
    public func currentLock() throws(StateError) -> LockInfo? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM lock WHERE single = 1").map(LockInfo.init(row:)) }
    }

    /// Takes the lock, runs `body`, and releases the lock whatever happens.
    public func withLock<T>(operation: String, timeout: Double, _ body: (LockInfo) throws -> T) throws -> T {
        let lock = try self.lock(operation: operation, timeout: timeout)
        defer { try? unlock(lock) }
        return try body(lock)
    }
}
