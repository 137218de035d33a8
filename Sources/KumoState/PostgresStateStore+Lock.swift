import Foundation
import PostgresNIO

/// The PostgreSQL state lock: a row with the holder's details (as in the SQLite store), held
/// together with a session-level advisory lock on a connection of its own.
///
/// The advisory lock lives as long as that connection: when the holder dies (kill -9) or its
/// connection drops, the server releases it, and the next command takes the lock over, saying
/// from whom, without a manual `kumo state unlock`. A write checks both the row's id and that
/// the row's session still holds the advisory lock, so a holder that lost its connection
/// cannot write even before someone else takes over.
extension PostgresStateStore {
    /// The advisory-lock class of Kumo's state locks ("KUMO"); the object is the schema's hash.
    static let advisoryClass: Int32 = 0x4B55_4D4F
    /// The class of the lock that serialises migrations of a schema.
    static let migrationKey: Int32 = 0x4B55_4D50

    /// The advisory lock's object for `schema`: its FNV-1a hash, so that each schema of a
    /// database has a lock of its own.
    static func lockKey(_ schema: String) -> Int32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in schema.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return Int32(bitPattern: hash)
    }

    /// Takes the state lock for `operation`. When a live holder has it, fails at once naming
    /// it, or with `timeout` retries with back-off (50 ms doubling to 1 s) until the time is
    /// up. A lock row left by a dead holder is taken over; ``LockInfo/tookOver`` says whose.
    public func lock(operation: String, timeout: Double = 0) throws(StateLockFailure) -> LockInfo {
        var taken: LockInfo?
        try StateLockFailure.waiting(timeout: timeout) { () throws(StateLockFailure) -> LockInfo? in
            do throws(StateError) {
                taken = try tryLock(LockInfo(operation: operation))
                if taken != nil { return nil }
                // Between the advisory lock and its row, a new holder is briefly without a row.
                return try currentLock() ?? LockInfo(id: "(being taken)", operation: "unknown", pid: 0, host: "unknown", user: "another kumo command", since: stateTimestamp())
            } catch { throw .store(error) }
        }
        return taken!
    }

    /// Tries the advisory lock on the lock connection; on success writes `info` as the lock
    /// row (replacing a dead holder's) and returns it, else nil.
    func tryLock(_ info: LockInfo) throws(StateError) -> LockInfo? {
        let key = PostgresStateStore.lockKey(schema)
        mutex.lock()
        if holdsLock, let lockSession, !lockSession.isClosed {
            mutex.unlock()
            return nil
        }
        let open = lockSession.flatMap { $0.isClosed ? nil : $0 }
        mutex.unlock()
        let session: PostgresSession
        if let open { session = open } else { session = try PostgresSession.connect(target) }
        mutex.withLock {
            lockSession = session
            holdsLock = false
        }
        let rows = try session.query("SELECT pg_try_advisory_lock(\(PostgresStateStore.advisoryClass), \(key))")
        guard let row = rows.first, try PostgresStateStore.decode(row, as: Bool.self) else { return nil }
        mutex.withLock { holdsLock = true }
        var mine = info
        do throws(StateError) {
            mine.tookOver = try run { data throws(StateError) in
                try data.execute("BEGIN")
                do throws(StateError) {
                    let previous = try data.query("SELECT id, operation, pid, host, \"user\", since FROM lock WHERE single = 1 FOR UPDATE").first.map { row throws(StateError) in
                        try PostgresStateStore.lockInfo(row)
                    }
                    try data.execute("DELETE FROM lock WHERE single = 1")
                    try data.execute("""
                        INSERT INTO lock (single, id, operation, pid, host, "user", since, backend_pid)
                        VALUES (1, \(info.id), \(info.operation), \(Int(info.pid)), \(info.host), \(info.user), \(info.since), \(session.backendPID))
                        """)
                    try data.execute("COMMIT")
                    return previous?.description
                } catch {
                    if !data.isClosed { try? data.execute("ROLLBACK") }
                    throw error
                }
            }
        } catch {
            releaseAdvisoryLock()
            throw error
        }
        return mine
    }

    /// Releases `lock` if it is still the one held, and the advisory lock with its connection.
    public func unlock(_ lock: LockInfo) throws(StateError) {
        defer { releaseAdvisoryLock() }
        try run { session throws(StateError) in try session.execute("DELETE FROM lock WHERE single = 1 AND id = \(lock.id)") }
    }

    /// Closes the lock connection, which releases the advisory lock with it.
    func releaseAdvisoryLock() {
        mutex.withLock {
            lockSession?.close()
            lockSession = nil
            holdsLock = false
        }
    }

    /// `kumo state unlock ID`: removes the lock with this id. If its holder's session still
    /// holds the advisory lock, that session is ended, so the lock is free for the next command
    /// and the holder can write nothing more.
    public func forceUnlock(id: String) throws(StateError) -> LockInfo {
        let key = PostgresStateStore.lockKey(schema)
        return try run { session throws(StateError) in
            try session.execute("BEGIN")
            do throws(StateError) {
                guard let row = try session.query("SELECT id, operation, pid, host, \"user\", since, backend_pid FROM lock WHERE single = 1 FOR UPDATE").first else {
                    throw StateError("the state is not locked")
                }
                let holder = try PostgresStateStore.lockInfo(row)
                guard holder.id == id else { throw StateError("the state is locked with id \(holder.id), not \(id); nothing removed") }
                let backend = try PostgresStateStore.decode(row, as: (String, String, Int, String, String, String, Int32).self).6
                try session.execute("DELETE FROM lock WHERE single = 1")
                try session.execute("""
                    SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = \(backend)
                        AND classid::text = \(String(PostgresStateStore.advisoryClass)) AND objid::text = \(String(UInt32(bitPattern: key)))
                    """)
                try session.execute("COMMIT")
                return holder
            } catch {
                if !session.isClosed { try? session.execute("ROLLBACK") }
                throw error
            }
        }
    }

    public func currentLock() throws(StateError) -> LockInfo? {
        try run { session throws(StateError) in
            try session.query("SELECT id, operation, pid, host, \"user\", since FROM lock WHERE single = 1").first.map { row throws(StateError) in
                try PostgresStateStore.lockInfo(row)
            }
        }
    }

    static func lockInfo(_ row: PostgresRow) throws(StateError) -> LockInfo {
        let (id, operation, pid, host, user, since) = try decode(row, as: (String, String, Int, String, String, String).self)
        return LockInfo(id: id, operation: operation, pid: Int32(truncatingIfNeeded: pid), host: host, user: user, since: since)
    }
}
