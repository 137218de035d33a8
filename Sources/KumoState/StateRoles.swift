import KumoManifest
import KumoPlan

/// The roles a state store plays for an apply, so that the apply flow can be tested without a
/// database: reading a snapshot, and writing one transaction under the lock. ``StateStore``
/// (SQLite) plays both; a test may play them in memory.
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

extension StateWriter: StateChanges {}

extension StateStore: StateReading, StateWriting {
    @discardableResult
    public func transaction(under lock: LockInfo, _ body: (any StateChanges) throws -> Void) throws(StateError) -> Int {
        try write(under: lock) { writer in try body(writer) }
    }
}

/// Taking and releasing the state's lock.
public protocol StateLocking: Sendable {
    func lock(operation: String, timeout: Double) throws(StateStore.LockFailure) -> LockInfo
    func unlock(_ lock: LockInfo) throws(StateError)
}

extension StateStore: StateLocking {}
