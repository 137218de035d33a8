import KumoManifest
import KumoPlan

/// The roles a state store plays for an apply, so that the apply flow can be tested without a
/// database: reading a snapshot, and writing one transaction under the lock. Both
/// ``StateStore``s (SQLite and PostgreSQL) play them; a test may play them in memory.
public protocol StateReading: Sendable {
    /// The lineage, serial and every resource, read consistently.
    func snapshot() throws(StateError) -> StateSnapshot
    /// The coefficients `kumo calibrate` fitted, by kind (empty when never calibrated).
    func calibration() throws(StateError) -> [Estimates.Kind: Estimates.Line]
}

public protocol StateWriting: Sendable {
    /// Runs `body` as one transaction after checking that `lock` is still held, then increases
    /// the serial. Returns the new serial.
    @discardableResult
    func transaction(under lock: LockInfo, _ body: (any StateChanges) throws -> Void) throws(StateError) -> Int
}

/// What one write transaction may change.
public protocol StateChanges: AnyObject {
    /// The serial this write commits with.
    var serial: Int { get }
    func put(_ record: ResourceRecord) throws
    func remove(_ address: String) throws
    /// Opens an apply journal entry; returns its id.
    func beginJournal(operation: String, planHash: String?, serialBefore: Int, estimate: JournalEntry.Estimate?) throws -> Int64
    /// Ends the entry with the time the apply took.
    func endJournal(_ id: Int64, outcome: String, actualMilliseconds: Double?) throws
    func record(_ timing: ActionTiming) throws
}

/// Taking and releasing the state's lock.
public protocol StateLocking: Sendable {
    func lock(operation: String, timeout: Double) throws(StateLockFailure) -> LockInfo
    func unlock(_ lock: LockInfo) throws(StateError)
}

/// A whole state store, as every command sees it: the roles above, and what `kumo state`,
/// `kumo calibrate` and `kumo state migrate` need. Two implementations: ``SQLiteStateStore``
/// (a file) and ``PostgresStateStore`` (a schema of a PostgreSQL database shared by a team and
/// CI); ``StateLocation/open(create:acceptEmptyFile:)`` picks one from `--state`.
///
/// Both keep the same data under the same rules: a versioned schema with migrations; one
/// consistent snapshot per read; every write one transaction that first checks that its lock
/// is still held and then increases the serial.
public protocol StateStore: StateReading, StateWriting, StateLocking, AnyObject {
    /// Where the state is, for messages: a path, or a URL without its password.
    var location: String { get }

    /// The snapshot, taking a stored spec from `known` instead of decoding it whenever `known`
    /// has a spec with the same hash (the planner passes the desired specs: most are unchanged).
    func snapshot(reusing known: @escaping @Sendable (String, String) -> ConfigValue?) throws(StateError) -> StateSnapshot
    func journal() throws(StateError) -> [JournalEntry]
    func timings() throws(StateError) -> [ActionTiming]
    /// Everything in the state, for `kumo state pull`, read in one transaction.
    func document() throws(StateError) -> StateDocument
    /// Replaces the whole state with `document` in one transaction under `lock`, keeping the
    /// document's lineage and (when higher) its serial. Returns the new serial.
    func replace(with document: StateDocument, lineage: String, under lock: LockInfo) throws(StateError) -> Int

    /// One sample per recorded (apply, wave, line) whose actions counted their work, for
    /// `kumo calibrate`.
    func calibrationSamples() throws(StateError) -> [Estimates.Kind: [Calibration.Sample]]
    func saveCalibration(_ fits: [Estimates.Kind: Calibration.Fit], under lock: LockInfo) throws(StateError)
    /// The most recent succeeded applies and destroys that recorded an estimate and their
    /// actual time, newest first (`kumo calibrate --report`).
    func estimateHistory(limit: Int) throws(StateError) -> [JournalEntry]

    /// The current holder of the lock, if any.
    func currentLock() throws(StateError) -> LockInfo?
    /// `kumo state unlock ID`: removes the lock with this id; returns what was removed.
    func forceUnlock(id: String) throws(StateError) -> LockInfo
}

extension StateStore {
    public func snapshot() throws(StateError) -> StateSnapshot {
        try snapshot(reusing: { _, _ in nil })
    }

    /// Takes the lock, runs `body`, and releases the lock whatever happens.
    public func withLock<T>(operation: String, timeout: Double, _ body: (LockInfo) throws -> T) throws -> T {
        let lock = try self.lock(operation: operation, timeout: timeout)
        defer { try? unlock(lock) }
        return try body(lock)
    }
}
