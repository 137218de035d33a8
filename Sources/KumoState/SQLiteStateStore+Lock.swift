import Foundation
import GRDB
import KumoPlan

extension SQLiteStateStore {
    /// Takes the state lock for `operation`. When it is held, fails at once, or with `timeout`
    /// retries with exponential back-off (50 ms doubling to 1 s) until the time is up. A lock
    /// whose holder is dead is reported as stale and never taken over silently.
    public func lock(operation: String, timeout: Double = 0) throws(StateLockFailure) -> LockInfo {
        var mine = LockInfo(operation: operation)
        try StateLockFailure.waiting(timeout: timeout) { () throws(StateLockFailure) -> LockInfo? in
            mine = LockInfo(operation: operation)
            let holder: LockInfo?
            do throws(StateError) { holder = try tryLock(mine) } catch { throw .store(error) }
            if let holder, holder.isStale { throw .stale(holder) }
            return holder
        }
        return mine
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
}

extension LockInfo {
    init(row: Row) {
        self.init(id: row["id"], operation: row["operation"], pid: Int32(truncatingIfNeeded: row["pid"] as Int64), host: row["host"],
                  user: row["user"], since: row["since"])
    }
}
