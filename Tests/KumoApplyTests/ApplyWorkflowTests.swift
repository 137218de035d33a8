import Foundation
import KumoApply
import KumoManifest
import KumoPlan
import KumoState
import KumoTestSupport
import Testing

/// The apply flow without processes: the state in memory, a scripted runtime and a stopwatch
/// the test advances, so waves, parallelism, failures, tainting, the journal and timings are
/// checked exactly.
@Suite struct ApplyWorkflowTests {
    static let manifest = """
        version: 1
        project: flow
        functions:
          hello: { runtime: python3, handler: app.main, code: ., environment: { TOKEN: "${secret:TOKEN}" } }
          report: { runtime: exec, command: ["./run.sh"], code: . }
        services:
          db: { command: ["db", "--port", "${port}"], code: ., port: 9100 }
          api: { command: ["api", "--port", "${port}"], code: ., port: 9101, replicas: 2, dependsOn: { db: { condition: healthy } } }
        scaling:
          api-load: { target: service.api, maxReplicas: 4, linear: { metric: requestsPerSecond, maxLoad: 100 } }
        rules:
          ping: { pattern: { source: [app] }, targets: [ { function: hello } ] }
        """

    /// The desired state of `manifest` (with `edit` applied to its text).
    func desired(_ edit: (String) -> String = { $0 }, environment: [String: String] = ["TOKEN": "t0k"]) throws -> DesiredState {
        let root = NSTemporaryDirectory() + "kumo-apply-tests"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let result = ProjectLoader.load(sources: [(root + "/kumo.yaml", Array(edit(Self.manifest).utf8))], root: root, options: LoadOptions(environment: environment))
        let project = try #require(result.project, "\(result.diagnostics)")
        return DesiredState(project: project, environment: environment) { _ in "sha256:code" }
    }

    func workflow(_ operation: ApplyWorkflow.Operation = .apply, parallelism: Int = 10, stopwatch: ManualStopwatch) -> ApplyWorkflow {
        ApplyWorkflow(options: .init(operation: operation, parallelism: parallelism, projectDirectory: "/nonexistent"), stopwatch: stopwatch)
    }

    func interaction(confirm: Bool = true, shown: Shown = Shown()) -> ApplyWorkflow.Interaction {
        ApplyWorkflow.Interaction(show: { shown.add($0) }, confirm: { _ in confirm }, progress: { _ in })
    }

    final class Shown: @unchecked Sendable {
        /// The state's status of each address when the runtime was called.
        final class Statuses: @unchecked Sendable {
            private let mutex = NSLock()
            private var seen: [String: ResourceRecord.Status?] = [:]
            func add(_ address: String, _ status: ResourceRecord.Status?) { mutex.withLock { seen[address] = status } }
            var all: [String: ResourceRecord.Status?] { mutex.withLock { seen } }
        }

        private let mutex = NSLock()
        private var plans: [Plan] = []
        func add(_ shown: ApplyWorkflow.Shown) { if case .plan(let plan) = shown { mutex.withLock { plans.append(plan) } } }
        var count: Int { mutex.withLock { plans.count } }
    }

    @Test func anApplyDeploysWaveByWaveAndRecordsEachAction() async throws {
        let stopwatch = ManualStopwatch()
        let store = MemoryState()
        let runtime = ScriptedRuntime(stopwatch: stopwatch)
        let wanted = try desired()
        let result = try await workflow(stopwatch: stopwatch).run(.desired(wanted), store: store, runtime: runtime, interaction: interaction())
        guard case .executed(let plan, let outcome) = result else { Issue.record("not executed: \(result)"); return }
        #expect(outcome.succeeded && outcome.applied == 6)
        // Dependencies first: db before api, api before its scaling policy, hello before the rule.
        let order = runtime.deployed
        func before(_ a: String, _ b: String) -> Bool { order.firstIndex(of: a)! < order.firstIndex(of: b)! }
        #expect(Set(order) == Set(wanted.resources.map(\.address)))
        #expect(before("service.db", "service.api") && before("service.api", "scaling.api-load") && before("function.hello", "rule.ping"))
        // The state is what the plan said, and planning again finds nothing to do.
        let state = store.current
        #expect(Set(state.resources.keys) == Set(wanted.resources.map(\.address)))
        #expect(state.resources.values.allSatisfy { $0.status == .applied })
        #expect(try Planner().plan(desired: wanted, current: state).hasChanges == false)
        // One state write per action, plus the journal's two: the serial counts them.
        #expect(state.serial == 6 + 2)
        #expect(store.journal.map(\.outcome) == ["succeeded"])
        // Timings come from the stopwatch: every action took at least the scripted 250 ms
        // (actions running at once advance the same stopwatch).
        #expect(store.timings.count == 6)
        #expect(store.timings.allSatisfy { $0.durationMilliseconds >= 250 })
        #expect(Set(store.timings.map(\.wave)) == Set(1...plan.waves.count))
        // Each timing carries the work the plan charged for it: api started its 2 replicas, db
        // 1, hello no warm worker (minInstances 0), the rest only registered.
        let work = Dictionary(uniqueKeysWithValues: store.timings.map { ($0.address, $0.work) })
        #expect(work["service.api"] == Work(registrations: 1, starts: 2, stops: 0))
        #expect(work["service.db"] == Work(registrations: 1, starts: 1, stops: 0))
        #expect(work["function.hello"] == Work(registrations: 1, starts: 0, stops: 0))
        #expect(work["rule.ping"] == Work(registrations: 1, starts: 0, stops: 0))
        // The journal keeps the plan's estimate and the time the apply took, for `calibrate --report`.
        let entry = try #require(store.journal.first)
        #expect(entry.estimate == plan.estimate.map { $0.seconds * 1000 } && entry.estimate != nil)
        #expect(entry.actual == outcome.seconds * 1000 && outcome.seconds > 0)
        // Secrets: the function got exactly the ones it names; nothing else did.
        #expect(runtime.secretsSeen["function.hello"] == ["TOKEN": "t0k"])
        #expect(runtime.secretsSeen["service.api"] == [:])
        #expect(store.lockHolder == nil && store.unlocked == 1)
    }

    @Test func noMoreThanParallelismActionsRunAtOnce() async throws {
        let wide = try desired { text in
            text + "\n" + (1...12).map { "  extra\($0): { pattern: { source: [x] }, targets: [ { function: report } ] }" }.joined(separator: "\n")
        }
        for parallelism in [1, 3] {
            let stopwatch = ManualStopwatch()
            let runtime = ScriptedRuntime(stopwatch: stopwatch)
            let result = try await workflow(parallelism: parallelism, stopwatch: stopwatch).run(.desired(wide), store: MemoryState(), runtime: runtime, interaction: interaction())
            guard case .executed(_, let outcome) = result else { Issue.record("not executed"); continue }
            #expect(outcome.succeeded)
            #expect(runtime.mostAtOnce == parallelism, "parallelism \(parallelism): \(runtime.mostAtOnce) at once")
        }
    }

    @Test func aFailedUpdateTaintsItsResourceAndStopsLaterWaves() async throws {
        let stopwatch = ManualStopwatch()
        let store = MemoryState()
        _ = try await workflow(stopwatch: stopwatch).run(.desired(try desired()), store: store, runtime: ScriptedRuntime(stopwatch: stopwatch), interaction: interaction())
        // Both services change; db (wave 1) fails, so api (wave 2) is never tried.
        let edited = try desired { $0.replacingOccurrences(of: "[\"db\", \"--port\"", with: "[\"db2\", \"--port\"").replacingOccurrences(of: "[\"api\", \"--port\"", with: "[\"api2\", \"--port\"") }
        let runtime = ScriptedRuntime(failing: ["service.db"], stopwatch: stopwatch)
        let result = try await workflow(stopwatch: stopwatch).run(.desired(edited), store: store, runtime: runtime, interaction: interaction())
        guard case .executed(_, let outcome) = result else { Issue.record("not executed"); return }
        #expect(!outcome.succeeded)
        #expect(outcome.failures.map(\.address) == ["service.db"])
        #expect(runtime.deployed == ["service.db"])
        #expect(store.current.resources["service.db"]?.status == .tainted)
        #expect(store.current.resources["service.api"]?.status == .applied)
        #expect(store.journal.map(\.outcome) == ["succeeded", "failed"])
        // The next plan replaces the tainted one and still updates the other.
        let next = try Planner().plan(desired: edited, current: store.current)
        #expect(next.changes.first { $0.address == "service.db" }?.action == .replace)
        #expect(next.changes.first { $0.address == "service.api" }?.action == .update)
    }

    /// An update is recorded tainted before the runtime hears of it, so an apply killed while
    /// the runtime carries it out leaves a state the next plan replaces (issue 15.3).
    @Test func anUpdateIsTaintedBeforeTheRuntimeIsAsked() async throws {
        let stopwatch = ManualStopwatch()
        let store = MemoryState()
        _ = try await workflow(stopwatch: stopwatch).run(.desired(try desired()), store: store, runtime: ScriptedRuntime(stopwatch: stopwatch), interaction: interaction())
        let runtime = ScriptedRuntime(stopwatch: stopwatch)
        let seen = Shown.Statuses()
        runtime.onCall = { address in seen.add(address, store.current.resources[address]?.status) }
        let edited = try desired { $0.replacingOccurrences(of: "[\"api\", \"--port\"", with: "[\"api2\", \"--port\"") + "\n  later: { pattern: { source: [x] }, targets: [ { function: report } ] }" }
        _ = try await workflow(stopwatch: stopwatch).run(.desired(edited), store: store, runtime: runtime, interaction: interaction())
        #expect(seen.all["service.api"] == .some(.tainted), "tainted while the runtime rolls it")
        #expect(seen.all["rule.later"] == .some(nil), "a create is not in the state until it is done")
        #expect(store.current.resources["service.api"]?.status == .applied)
        #expect(try Planner().plan(desired: edited, current: store.current).hasChanges == false)
        // Killed after the taint was written and before the outcome: the next plan replaces it.
        var interrupted = store.current
        interrupted.resources["service.api"]?.status = .tainted
        #expect(try Planner().plan(desired: edited, current: interrupted).changes.first { $0.address == "service.api" }?.action == .replace)
    }

    @Test func theRuntimeIsToldToScaleWhenOnlyReplicasChanged() async throws {
        let stopwatch = ManualStopwatch()
        let store = MemoryState()
        _ = try await workflow(stopwatch: stopwatch).run(.desired(try desired()), store: store, runtime: ScriptedRuntime(stopwatch: stopwatch), interaction: interaction())
        let runtime = ScriptedRuntime(stopwatch: stopwatch)
        _ = try await workflow(stopwatch: stopwatch).run(.desired(try desired { $0.replacingOccurrences(of: "replicas: 2", with: "replicas: 3") }),
                                                         store: store, runtime: runtime, interaction: interaction())
        #expect(runtime.calls == [.deploy("service.api", .scale)])
        let rolled = ScriptedRuntime(stopwatch: stopwatch)
        _ = try await workflow(stopwatch: stopwatch).run(.desired(try desired { $0.replacingOccurrences(of: "replicas: 2", with: "replicas: 3, environment: { MODE: fast }") }),
                                                         store: store, runtime: rolled, interaction: interaction())
        #expect(rolled.calls == [.deploy("service.api", .rolling)])
    }

    @Test func aMissingSecretFailsItsActionWithoutReachingTheRuntime() async throws {
        let stopwatch = ManualStopwatch()
        let store = MemoryState()
        let runtime = ScriptedRuntime(stopwatch: stopwatch)
        let result = try await workflow(stopwatch: stopwatch).run(.desired(try desired(environment: [:])), store: store, runtime: runtime, interaction: interaction())
        guard case .executed(_, let outcome) = result else { Issue.record("not executed"); return }
        #expect(outcome.failures.map(\.address) == ["function.hello"])
        #expect(outcome.failures.first?.error.contains("secret 'TOKEN' is not available") == true)
        #expect(!runtime.deployed.contains("function.hello"))
        #expect(store.current.resources["function.hello"] == nil)
    }

    @Test func aDeclinedPlanChangesNothingAndReleasesTheLock() async throws {
        let stopwatch = ManualStopwatch()
        let store = MemoryState()
        let runtime = ScriptedRuntime(stopwatch: stopwatch)
        let shown = Shown()
        let result = try await workflow(stopwatch: stopwatch).run(.desired(try desired()), store: store, runtime: runtime, interaction: interaction(confirm: false, shown: shown))
        guard case .declined = result else { Issue.record("not declined: \(result)"); return }
        #expect(shown.count == 1)
        #expect(runtime.calls.isEmpty && store.current.isEmpty && store.lockHolder == nil)
    }

    @Test func aHeldLockFailsAtOnceNamingTheHolder() async throws {
        let store = MemoryState()
        let holder = try store.lock(operation: "apply", timeout: 0)
        await #expect {
            _ = try await workflow(stopwatch: ManualStopwatch()).run(.desired(try desired()), store: store, runtime: ScriptedRuntime(), interaction: interaction())
        } throws: { error in
            "\(error)".contains(holder.id)
        }
    }

    @Test func aSavedPlanAppliesOnlyToTheStateItWasMadeAgainst() async throws {
        let stopwatch = ManualStopwatch()
        let store = MemoryState()
        let wanted = try desired()
        let plan = try Planner().plan(desired: wanted, current: store.current)
        let saved = SavedPlan(plan: plan, desired: wanted, statePath: nil)
        // Someone else applies first: the saved plan is stale.
        _ = try await workflow(stopwatch: stopwatch).run(.desired(wanted), store: store, runtime: ScriptedRuntime(stopwatch: stopwatch), interaction: interaction())
        let runtime = ScriptedRuntime(stopwatch: stopwatch)
        await #expect {
            _ = try await workflow(stopwatch: stopwatch).run(.saved(saved), store: store, runtime: runtime, interaction: interaction(), environment: ["TOKEN": "t0k"])
        } throws: { error in
            "\(error)".contains("the saved plan cannot be applied") && "\(error)".contains("serial")
        }
        #expect(runtime.calls.isEmpty)
    }
}
