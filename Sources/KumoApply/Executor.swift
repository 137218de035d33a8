import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// Walks a plan wave by wave against the runtime, at most `parallelism` actions at once, and
/// writes each finished action to the state at once (with its timing), so an apply that is
/// interrupted leaves a state from which the next plan shows exactly what remains.
///
/// A failed action stops new work; actions already running finish; the apply then fails. An
/// update or replacement is recorded `tainted` before it is sent and `applied` once it is done,
/// so a failed or interrupted one leaves the resource tainted (the next plan replaces it); a
/// failed create leaves nothing in the state.
public struct Executor: Sendable {
    public enum Event: Sendable {
        case waveStarted(index: Int, of: Int, actions: Int)
        case started(address: String, action: PlanAction)
        case finished(address: String, action: PlanAction, seconds: Double)
        case failed(address: String, action: PlanAction, error: String)
    }

    public struct Outcome: Sendable {
        public var applied: Int
        public var failures: [(address: String, error: String)]
        public var seconds: Double
        public var succeeded: Bool { failures.isEmpty }
    }

    public let store: any StateReading & StateWriting
    public let runtime: any RuntimeControl
    public let parallelism: Int
    public let stopwatch: any Stopwatch
    public let progress: @Sendable (Event) -> Void

    public init(store: any StateReading & StateWriting, runtime: any RuntimeControl, parallelism: Int, stopwatch: any Stopwatch = SystemStopwatch(),
                progress: @escaping @Sendable (Event) -> Void) {
        self.store = store
        self.runtime = runtime
        self.parallelism = max(1, parallelism)
        self.stopwatch = stopwatch
        self.progress = progress
    }

    public func apply(_ plan: Plan, resources: [DesiredResource], secrets: [String: String], lock: LockInfo, operation: String, planHash: String) async throws -> Outcome {
        var byAddress: [String: DesiredResource] = [:]
        for resource in resources { byAddress[resource.address] = resource }
        var changes: [String: ResourceChange] = [:]
        for change in plan.changes { changes[change.address] = change }
        let started = stopwatch.now()
        let before = try store.snapshot()
        var opened: Int64 = 0
        try store.transaction(under: lock) { writer in
            opened = try writer.beginJournal(operation: operation, planHash: planHash, serialBefore: before.serial,
                                             estimate: plan.estimate.map(JournalEntry.Estimate.init))
        }
        let journal = opened
        let failures = Failures()
        var applied = 0
        for (index, wave) in plan.waves.enumerated() {
            if failures.any { break }
            progress(.waveStarted(index: index + 1, of: plan.waves.count, actions: wave.count))
            let waveStart = stopwatch.now()
            var sizes: [ResourceKind: Int] = [:]
            for address in wave { if let kind = changes[address]?.kind { sizes[kind, default: 0] += 1 } }
            let results = await withTaskGroup(of: Bool.self) { group -> Int in
                var pending = wave[...]
                var running = 0
                var done = 0
                func launch() {
                    while running < parallelism, !failures.any, let address = pending.popFirst() {
                        guard let change = changes[address] else { continue }
                        running += 1
                        let desired = byAddress[address]
                        let waveSize = sizes[change.kind] ?? 1
                        let number = index + 1
                        let previous = before.resources[address]
                        group.addTask {
                            await self.perform(change, desired: desired, previous: previous, secrets: secrets, lock: lock, journal: journal,
                                               wave: number, waveSize: waveSize, waveStart: waveStart, failures: failures)
                        }
                    }
                }
                launch()
                while let ok = await group.next() {
                    running -= 1
                    if ok { done += 1 }
                    launch()
                }
                return done
            }
            applied += results
        }
        let outcome = failures.any ? "failed" : "succeeded"
        let seconds = Executor.seconds(stopwatch.now() - started)
        _ = try? store.transaction(under: lock) { writer in try writer.endJournal(journal, outcome: outcome, actualMilliseconds: seconds * 1000) }
        return Outcome(applied: applied, failures: failures.list, seconds: seconds)
    }

    /// One action against the runtime, then its state write. Returns whether it succeeded.
    /// `previous` is the record before this apply: the lock keeps anyone else from writing it,
    /// and an apply acts on each address once.
    private func perform(_ change: ResourceChange, desired: DesiredResource?, previous: ResourceRecord?, secrets: [String: String], lock: LockInfo, journal: Int64,
                         wave: Int, waveSize: Int, waveStart: Swift.Duration, failures: Failures) async -> Bool {
        let address = change.address
        progress(.started(address: address, action: change.action))
        let begun = stopwatch.now()
        do {
            // An update or replacement is marked tainted before the runtime hears of it: if this
            // process dies while the runtime carries it out, the state does not claim the old
            // version still runs, and the next plan replaces the resource.
            if change.action == .update || change.action == .replace, var record = previous, record.status != .tainted {
                record.status = .tainted
                try store.transaction(under: lock) { writer in try writer.put(record) }
            }
            switch change.action {
            case .delete:
                try await runtime.remove(address: address)
            case .replace:
                try await runtime.remove(address: address)
                fallthrough
            case .create, .update:
                guard let desired else { throw RuntimeClient.Failure(description: "\(address) is not in the plan's resources") }
                var needed: [String: String] = [:]
                for name in desired.secretNames {
                    guard let value = secrets[name] else { throw MissingSecret(name: name) }
                    needed[name] = value
                }
                try await runtime.deploy(desired, secrets: needed, update: change.update)
            case .noop:
                return true
            }
        } catch {
            let message = "\(error)"
            failures.add(address, message)
            progress(.failed(address: address, action: change.action, error: message))
            // An update or replacement the runtime may have half done is already recorded tainted.
            return false
        }
        let end = stopwatch.now()
        let seconds = Executor.seconds(end - begun)
        // What the runtime did, in the units calibration fits: the same count the plan charged.
        let work = Work(change, after: desired?.spec, previous: previous)
        do {
            try store.transaction(under: lock) { writer in
                if change.action == .delete {
                    try writer.remove(address)
                } else if let desired {
                    try writer.put(ResourceRecord(desired: desired, secrets: secrets, previous: previous, serial: writer.serial))
                }
                try writer.record(ActionTiming(
                    journalID: journal, address: address, kind: change.kind, action: change.action.rawValue,
                    durationMilliseconds: seconds * 1000, startedMilliseconds: Executor.seconds(begun - waveStart) * 1000,
                    wave: wave, waveSize: waveSize, parallelism: parallelism, work: work))
            }
        } catch {
            failures.add(address, "applied, but the state write failed: \(error)")
            progress(.failed(address: address, action: change.action, error: "\(error)"))
            return false
        }
        progress(.finished(address: address, action: change.action, seconds: seconds))
        return true
    }

    static func seconds(_ duration: Swift.Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(String, String)] = []
        func add(_ address: String, _ error: String) {
            lock.lock()
            items.append((address, error))
            lock.unlock()
        }
        var any: Bool {
            lock.lock()
            defer { lock.unlock() }
            return !items.isEmpty
        }
        var list: [(address: String, error: String)] {
            lock.lock()
            defer { lock.unlock() }
            return items.map { (address: $0.0, error: $0.1) }
        }
    }
}
