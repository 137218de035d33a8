import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// The state roles an apply uses: read, write one transaction at a time, lock.
public typealias ApplyStore = StateReading & StateWriting & StateLocking

/// Plan under the lock, confirm, execute: what `kumo apply`, `destroy`, `up` and `down` share.
///
/// The workflow takes the state's lock, plans against the state as it is then (or checks that
/// a saved plan still applies to it), shows the plan, asks for confirmation, and hands the plan
/// to the ``Executor``. The user's side (printing, asking, progress) comes in through
/// ``Interaction``; the store, the runtime and the clock through protocols, so the whole flow
/// runs in unit tests without processes.
public struct ApplyWorkflow: Sendable {
    public enum Operation: String, Sendable {
        case apply, destroy
    }

    /// What to apply.
    public enum Input: Sendable {
        /// The project's desired state (no resources, for a destroy): planned now.
        case desired(DesiredState)
        /// A plan saved by `kumo plan --out`: applied exactly, if it still fits.
        case saved(SavedPlan)
    }

    public struct Options: Sendable {
        public var operation: Operation
        public var targets: [String]
        public var parallelism: Int
        /// Compare the runtime with the state first, and apply drifted resources again.
        public var refresh: Bool
        /// Seconds to wait for the lock (0: fail at once when it is held).
        public var lockTimeout: Double
        /// Where `code:` directories are, for a saved plan's code check.
        public var projectDirectory: String

        public init(operation: Operation, targets: [String] = [], parallelism: Int = 10, refresh: Bool = false, lockTimeout: Double = 0, projectDirectory: String) {
            self.operation = operation
            self.targets = targets
            self.parallelism = parallelism
            self.refresh = refresh
            self.lockTimeout = lockTimeout
            self.projectDirectory = projectDirectory
        }
    }

    /// The user's side of an apply.
    public struct Interaction: Sendable {
        /// Shows the plan, or what `--refresh` found.
        public var show: @Sendable (Shown) -> Void
        /// Asks whether to go ahead with the plan (only called when it has changes).
        public var confirm: @Sendable (Plan) async throws -> Bool
        /// Each action as it starts, finishes or fails.
        public var progress: @Sendable (Executor.Event) -> Void

        public init(show: @escaping @Sendable (Shown) -> Void, confirm: @escaping @Sendable (Plan) async throws -> Bool, progress: @escaping @Sendable (Executor.Event) -> Void) {
            self.show = show
            self.confirm = confirm
            self.progress = progress
        }
    }

    public enum Shown: Sendable {
        case drift([String: String])
        case plan(Plan)
        /// The lock was taken over from a holder that had died: its description.
        case lockTakenOver(String)
    }

    public enum Result: Sendable {
        /// The plan had no changes.
        case upToDate(Plan)
        /// The user said no.
        case declined(Plan)
        /// The executor ran the plan (it may have failed part way: see the outcome).
        case executed(Plan, Executor.Outcome)
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public var options: Options
    public var stopwatch: any Stopwatch

    public init(options: Options, stopwatch: any Stopwatch = SystemStopwatch()) {
        self.options = options
        self.stopwatch = stopwatch
    }

    public func run(_ input: Input, store: any ApplyStore, runtime: any RuntimeControl, interaction: Interaction,
                    environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Result {
        let operation = options.operation.rawValue
        let lock: LockInfo
        do { lock = try store.lock(operation: operation, timeout: options.lockTimeout) } catch { throw Failure(error.description) }
        defer { try? store.unlock(lock) }
        if let previous = lock.tookOver { interaction.show(.lockTakenOver(previous)) }

        // Plan under the lock, against the state as it is now.
        let current: StateSnapshot
        do { current = try store.snapshot() } catch { throw Failure(error.description) }
        let plan: Plan
        let desired: DesiredState
        switch input {
        case .saved(let saved):
            if let reason = saved.staleness(against: current) ?? saved.drift(projectDirectory: options.projectDirectory, environment: environment) {
                throw Failure("the saved plan cannot be applied: \(reason)")
            }
            plan = saved.plan
            desired = DesiredState(project: saved.plan.project, stage: saved.plan.stage, resources: saved.resources,
                                   secretValues: environment.filter { saved.secretHashes[$0.key] != nil })
        case .desired(let wanted):
            desired = wanted
            var planner = Planner.Options(targets: options.targets, parallelism: options.parallelism)
            if options.refresh {
                planner.drift = await Refresh.drift(runtime: runtime, state: current)
                interaction.show(.drift(planner.drift))
            }
            if let calibrated = try? store.calibration(), !calibrated.isEmpty {
                planner.calibrated = Calibration.merge(desired.estimates, calibrated: calibrated)
            }
            do { plan = try Planner(options: planner).plan(desired: desired, current: current) } catch { throw Failure("\(error)") }
        }
        interaction.show(.plan(plan))
        guard plan.hasChanges else { return .upToDate(plan) }
        guard try await interaction.confirm(plan) else { return .declined(plan) }
        let executor = Executor(store: store, runtime: runtime, parallelism: options.parallelism, stopwatch: stopwatch, progress: interaction.progress)
        let outcome = try await executor.apply(plan, resources: desired.resources, secrets: desired.secretValues, lock: lock,
                                               operation: operation, planHash: plan.manifestHash)
        return .executed(plan, outcome)
    }
}

extension SavedPlan {
    /// Why the code or the secrets no longer match what the plan saw, or nil.
    public func drift(projectDirectory: String, environment: [String: String]) -> String? {
        let hasher = CodeHasher()
        for resource in resources {
            guard let planned = resource.codeHash, let code = resource.spec.code else { continue }
            let path = ResourceSpec.codePath(code, in: projectDirectory)
            guard let now = try? hasher.hash(directory: path) else { return "the code of \(resource.address) at \(path) cannot be read" }
            if now != planned { return "the code of \(resource.address) changed since the plan was made" }
        }
        for (name, text) in secretHashes.sorted(by: { $0.key < $1.key }) {
            guard let hash = SecretHash(text: text), let value = environment[name], hash.matches(value) else {
                return "secret '\(name)' is unset or differs from the value the plan was made with"
            }
        }
        return nil
    }
}
