import Foundation
import KumoApply
import KumoManifest
import KumoPlan
import KumoState

/// The state in memory, playing the roles an apply needs: every transaction checks the lock
/// and commits whole or not at all, like the SQLite store.
final class MemoryState: ApplyStore, @unchecked Sendable {
    private let mutex = NSLock()
    private var state = StateSnapshot()
    private var holder: LockInfo?
    private(set) var journal: [(id: Int64, operation: String, outcome: String, estimate: Double?, actual: Double?)] = []
    private(set) var timings: [ActionTiming] = []
    private(set) var unlocked = 0

    init(_ state: StateSnapshot = StateSnapshot()) {
        self.state = state
    }

    var current: StateSnapshot { mutex.withLock { state } }
    var lockHolder: LockInfo? { mutex.withLock { holder } }

    func snapshot() throws(StateError) -> StateSnapshot { current }
    func calibration() throws(StateError) -> [Estimates.Kind: Estimates.Line] { [:] }

    func lock(operation: String, timeout: Double) throws(StateLockFailure) -> LockInfo {
        mutex.lock()
        defer { mutex.unlock() }
        if let holder { throw .held(holder) }
        let lock = LockInfo(operation: operation)
        holder = lock
        return lock
    }

    func unlock(_ lock: LockInfo) throws(StateError) {
        mutex.withLock {
            if holder == lock { holder = nil; unlocked += 1 }
        }
    }

    @discardableResult
    func transaction(under lock: LockInfo, _ body: (any StateChanges) throws -> Void) throws(StateError) -> Int {
        mutex.lock()
        defer { mutex.unlock() }
        guard holder == lock else { throw StateError("the lock is not held") }
        let changes = Changes(state: state, journal: journal, timings: timings)
        do { try body(changes) } catch { throw StateError("\(error)") }
        state = changes.state
        state.lineage = state.lineage ?? "memory"
        state.serial = changes.serial
        journal = changes.journal
        timings = changes.timings
        return state.serial
    }

    final class Changes: StateChanges {
        var state: StateSnapshot
        var journal: [(id: Int64, operation: String, outcome: String, estimate: Double?, actual: Double?)]
        var timings: [ActionTiming]
        let serial: Int

        init(state: StateSnapshot, journal: [(id: Int64, operation: String, outcome: String, estimate: Double?, actual: Double?)], timings: [ActionTiming]) {
            self.state = state
            self.journal = journal
            self.timings = timings
            serial = state.serial + 1
        }

        func put(_ record: ResourceRecord) throws { state.resources[record.address] = record }
        func remove(_ address: String) throws { state.resources[address] = nil }
        func beginJournal(operation: String, planHash: String?, serialBefore: Int, estimate: JournalEntry.Estimate?) throws -> Int64 {
            journal.append((Int64(journal.count + 1), operation, "running", estimate?.milliseconds, nil))
            return Int64(journal.count)
        }
        func endJournal(_ id: Int64, outcome: String, actualMilliseconds: Double?) throws {
            journal[Int(id) - 1].outcome = outcome
            journal[Int(id) - 1].actual = actualMilliseconds
        }
        func record(_ timing: ActionTiming) throws { timings.append(timing) }
    }
}

/// A runtime that records what it is asked to do, takes a set time per action on the test's
/// stopwatch, and fails the addresses it is told to.
final class ScriptedRuntime: RuntimeControl, @unchecked Sendable {
    enum Call: Equatable {
        case deploy(String, UpdateStrategy?)
        case remove(String)
    }

    struct Refused: Error, CustomStringConvertible { var description: String }

    private let mutex = NSLock()
    private(set) var calls: [Call] = []
    private(set) var secretsSeen: [String: [String: String]] = [:]
    private var running = 0
    private(set) var mostAtOnce = 0
    let failing: Set<String>
    let stopwatch: ManualStopwatch
    let actionTime: Swift.Duration
    /// Called with each address as the runtime is asked to apply or remove it.
    var onCall: (@Sendable (String) -> Void)?

    init(failing: Set<String> = [], stopwatch: ManualStopwatch = ManualStopwatch(), actionTime: Swift.Duration = .milliseconds(250)) {
        self.failing = failing
        self.stopwatch = stopwatch
        self.actionTime = actionTime
    }

    private func perform(_ call: Call, address: String) async throws {
        onCall?(address)
        mutex.withLock {
            calls.append(call)
            running += 1
            mostAtOnce = max(mostAtOnce, running)
        }
        // Let the executor start whatever else it would run at the same time.
        for _ in 0..<20 { await Task.yield() }
        mutex.withLock { running -= 1 }
        stopwatch.advance(by: actionTime)
        if failing.contains(address) { throw Refused(description: "\(address) refused by the script") }
    }

    func deploy(_ resource: DesiredResource, secrets: [String: String], update: UpdateStrategy?) async throws {
        mutex.withLock { secretsSeen[resource.address] = secrets }
        try await perform(.deploy(resource.address, update), address: resource.address)
    }

    func remove(address: String) async throws {
        try await perform(.remove(address), address: address)
    }

    func status() async throws -> ControlAPI.Status {
        ControlAPI.Status(runtime: .init(pid: 1, gatewayPort: 0, startedAt: "", projectDirectory: "", version: "test", isolation: ""), resources: [])
    }

    var deployed: [String] { mutex.withLock { calls.compactMap { if case .deploy(let a, _) = $0 { a } else { nil } } } }
}

/// Time that passes only when the test says so.
final class ManualStopwatch: Stopwatch, @unchecked Sendable {
    private let mutex = NSLock()
    private var elapsed: Swift.Duration = .zero

    func now() -> Swift.Duration { mutex.withLock { elapsed } }
    func advance(by duration: Swift.Duration) { mutex.withLock { elapsed += duration } }
}
