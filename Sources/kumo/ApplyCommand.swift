import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoRuntime
import KumoState

extension Kumo {
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the runtime match the manifests (or apply a saved plan).",
            discussion: """
                Shows the plan and asks for confirmation ('yes'); without a terminal, --auto-approve
                is required. Actions run in dependency waves, --parallelism at a time; each finished
                action is written to the state at once. On a failure no new action starts, running
                ones finish, and apply exits 1: the next plan shows exactly what remains.
                With PLANFILE (from 'kumo plan --out'), applies exactly that plan, and only if the
                state, the code and the secrets are still what the plan saw.
                """
        )

        @Argument(help: "A saved plan to apply instead of planning now (a directory or YAML file here names the project).")
        var planFile: String?

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Do not ask for confirmation.")
        var autoApprove = false

        @Flag(help: "Compare the runtime with the state first and repair any drift.")
        var refresh = false

        func run() async throws {
            // `kumo apply DIR` or `kumo apply kumo.yaml` names the project, not a saved plan.
            var project = self.project
            var planFile = self.planFile
            if let candidate = planFile {
                var isDirectory: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory)
                if (exists && isDirectory.boolValue) || candidate.hasSuffix(".yaml") || candidate.hasSuffix(".yml") {
                    project.paths.insert(candidate, at: 0)
                    planFile = nil
                }
            }
            var flow = ApplyFlow(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                 autoApprove: autoApprove, destroy: false)
            flow.refresh = refresh
            let ok = try await flow.run(planFile: planFile)
            Console.exit(failure: !ok)
        }
    }

    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove everything the state records from the runtime, in reverse dependency order.")

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Do not ask for confirmation.")
        var autoApprove = false

        func run() async throws {
            let ok = try await ApplyFlow(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                         autoApprove: autoApprove, destroy: true).run(planFile: nil)
            Console.exit(failure: !ok)
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the runtime in the foreground, apply the project and stream its logs; Ctrl-C stops everything.",
            discussion: "Like 'docker compose up': no confirmation, output of every function and service on the terminal.")

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Gateway port on 127.0.0.1.")
        var gatewayPort = 3000

        func run() async throws {
            let loaded = project.load(requireSecrets: true)
            guard let resolved = loaded.project else {
                loaded.report(color: output.color(for: 2))
                throw ExitCode.failure
            }
            if let running = RuntimeInfo.load(projectDirectory: resolved.directory) {
                throw fail("a runtime is already running for \(resolved.directory) (pid \(running.pid)); use 'kumo apply', or stop it with 'kumo runtime stop'")
            }
            let statePath = stateOptions.path(projectDirectory: resolved.directory)
            let echo: @Sendable (String, String) -> Void = { address, line in Console.out(address + " | " + line) }
            let runtime = try Runtime(options: .init(projectDirectory: resolved.directory, statePath: statePath, gatewayPort: gatewayPort, version: Kumo.version, echo: echo))
            let signals = stopOnSignals(runtime)
            let info: RuntimeInfo
            do { info = try await runtime.start() } catch {
                await runtime.stop()
                throw fail("\(error)")
            }
            let ok = try await ApplyFlow(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                         autoApprove: true, destroy: false, loaded: loaded).run(planFile: nil)
            if ok {
                Console.out("\nKumo is up: gateway http://127.0.0.1:\(info.gatewayPort) — Ctrl-C stops everything.\n")
                await runtime.waitUntilStopped()
            } else {
                await runtime.stop()
            }
            _ = signals
            Console.out("Stopped every process the runtime started.\n")
            Console.exit(failure: !ok)
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy everything (no confirmation) and stop the runtime.")

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let flow = ApplyFlow(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                 autoApprove: true, destroy: true)
            let directory = flow.projectDirectory()
            var ok = true
            if RuntimeInfo.load(projectDirectory: directory) != nil {
                ok = try await flow.run(planFile: nil)
            }
            if let info = RuntimeInfo.load(projectDirectory: directory) {
                try await stopRuntime(info)
                Console.out("Runtime \(info.pid) stopped.\n")
            }
            Console.exit(failure: !ok)
        }
    }
}

/// Plan under the lock, confirm, execute: what apply, destroy, up and down share.
struct ApplyFlow {
    var project: ProjectOptions
    var planning: PlanningOptions
    var stateOptions: StateOptions
    var lockOptions: LockOptions
    var output: OutputOptions
    var autoApprove: Bool
    var destroy: Bool
    var loaded: LoadResult?
    var refresh = false

    /// The project directory without loading manifests (destroy and down work from the state).
    func projectDirectory() -> String {
        let first = project.paths.first ?? "."
        var isDirectory: ObjCBool = false
        let absolute = StateLocation.resolve(explicit: first, environment: [:], projectDirectory: ".")
        if FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), !isDirectory.boolValue {
            return (absolute as NSString).deletingLastPathComponent
        }
        return absolute
    }

    func run(planFile: String?) async throws -> Bool {
        let color = output.color(for: 1)
        // What the project wants (nothing, for destroy).
        var desired: DesiredState
        var saved: SavedPlan?
        let directory: String
        if let planFile {
            do { saved = try SavedPlan(json: try String(contentsOfFile: planFile, encoding: .utf8)) } catch {
                throw fail("\(planFile): \(error)")
            }
            directory = saved!.projectDirectory ?? projectDirectory()
            desired = DesiredState(project: saved!.plan.project, stage: saved!.plan.stage, resources: saved!.resources,
                                   secretValues: ProcessInfo.processInfo.environment.filter { saved!.secretHashes[$0.key] != nil })
        } else if destroy {
            directory = projectDirectory()
            desired = DesiredState(project: URL(fileURLWithPath: directory).lastPathComponent, resources: [])
        } else {
            let loaded = self.loaded ?? project.load(requireSecrets: true)
            guard let resolved = loaded.project else {
                loaded.report(color: output.color(for: 2))
                throw ExitCode.failure
            }
            if self.loaded == nil && !loaded.warnings.isEmpty { loaded.report(color: output.color(for: 2)) }
            directory = resolved.directory
            do {
                let hasher = CodeHasher()
                desired = try DesiredState(project: resolved, environment: ProcessInfo.processInfo.environment) { try hasher.hash(directory: $0) }
            } catch { throw fail("\(error)") }
        }
        let statePath = stateOptions.state.map { StateLocation.resolve(explicit: $0, environment: [:], projectDirectory: ".") }
            ?? saved?.statePath ?? stateOptions.path(projectDirectory: directory)

        let client: RuntimeClient
        do { client = try RuntimeClient.connect(projectDirectory: directory) } catch { throw fail("\(error)") }
        guard let store = try StateStore.open(path: statePath, create: true) else { throw ExitCode.failure }
        let lock: LockInfo
        let timeout = try lockOptions.seconds
        do { lock = try store.lock(operation: destroy ? "destroy" : "apply", timeout: timeout) } catch { throw fail(error.description) }
        defer { try? store.unlock(lock) }

        // Plan under the lock, against the state as it is now.
        let current: StateSnapshot
        do { current = try store.snapshot() } catch { throw fail(error.description) }
        let plan: Plan
        if let saved {
            if let reason = saved.staleness(against: current) { throw fail("the saved plan cannot be applied: \(reason)") }
            if let reason = ApplyFlow.drift(of: saved, projectDirectory: directory) { throw fail("the saved plan cannot be applied: \(reason)") }
            plan = saved.plan
        } else {
            var options = Planner.Options(targets: planning.targets, parallelism: planning.parallelism)
            if refresh {
                options.drift = await Refresh.drift(projectDirectory: directory, state: current)
                Console.out(Refresh.describe(options.drift))
            }
            if let calibrated = try? store.calibration(), !calibrated.isEmpty {
                options.calibrated = Calibration.merge(desired.estimates, calibrated: calibrated)
            }
            do { plan = try Planner(options: options).plan(desired: desired, current: current) } catch { throw fail("\(error)") }
        }
        Console.out(PlanRenderer(color: color).text(plan))
        guard plan.hasChanges else { return true }
        if !autoApprove {
            guard isatty(0) == 1 else {
                throw fail("\(destroy ? "destroy" : "apply") needs confirmation: run it on a terminal, or give --auto-approve")
            }
            Console.out("\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ")
            guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                Console.out("\(destroy ? "Destroy" : "Apply") cancelled.\n")
                return false
            }
        }
        Console.out("\n")
        let progress = ProgressPrinter(terminal: isatty(1) == 1, color: color)
        let executor = Executor(store: store, client: client, parallelism: planning.parallelism) { progress.show($0) }
        let outcome = try await executor.apply(plan, resources: desired.resources, secrets: desired.secretValues, lock: lock,
                                               operation: destroy ? "destroy" : "apply", planHash: plan.manifestHash)
        progress.finish()
        let counts = "\(plan.count(.create)) added, \(plan.count(.update)) changed, \(plan.count(.replace)) replaced, \(plan.count(.delete)) destroyed"
        let estimate = plan.estimate.map { String(format: "; the plan estimated %.1f s", $0.seconds) } ?? ""
        if outcome.succeeded {
            Console.out("\n\(destroy ? "Destroy" : "Apply") complete! Resources: \(counts). Took \(String(format: "%.1f", outcome.seconds)) s\(estimate).\n")
            return true
        }
        Console.err("\nerror: \(destroy ? "destroy" : "apply") failed after \(outcome.applied) of \(plan.actionable.count) actions:\n")
        for failure in outcome.failures { Console.err("  \(failure.address): \(failure.error)\n") }
        Console.err("The state records what was done; 'kumo plan' shows what remains.\n")
        return false
    }

    /// Why a saved plan no longer matches the code or the secrets, or nil.
    static func drift(of saved: SavedPlan, projectDirectory: String) -> String? {
        let hasher = CodeHasher()
        for resource in saved.resources {
            guard let planned = resource.codeHash, let code = resource.spec.code else { continue }
            let path = code.hasPrefix("/") ? code : projectDirectory + "/" + code
            guard let now = try? hasher.hash(directory: path) else { return "the code of \(resource.address) at \(path) cannot be read" }
            if now != planned { return "the code of \(resource.address) changed since the plan was made" }
        }
        let environment = ProcessInfo.processInfo.environment
        for (name, text) in saved.secretHashes {
            guard let hash = SecretHash(text: text), let value = environment[name], hash.matches(value) else {
                return "secret '\(name)' is unset or differs from the value the plan was made with"
            }
        }
        return nil
    }
}

/// Progress per resource: plain lines, plus a live status line on a terminal.
final class ProgressPrinter: @unchecked Sendable {
    let terminal: Bool
    let color: Bool
    private let lock = NSLock()
    private var running = 0
    private var done = 0
    private var wave = ""

    init(terminal: Bool, color: Bool) {
        self.terminal = terminal
        self.color = color
    }

    func show(_ event: Executor.Event) {
        lock.lock()
        defer { lock.unlock() }
        var line: String?
        switch event {
        case .waveStarted(let index, let total, let actions):
            wave = "wave \(index)/\(total)"
            line = "Wave \(index) of \(total): \(actions) action\(actions == 1 ? "" : "s")"
        case .started(let address, let action):
            running += 1
            line = "\(address): \(ProgressPrinter.verb(action, done: false))..."
        case .finished(let address, let action, let seconds):
            running -= 1
            done += 1
            line = "\(address): \(ProgressPrinter.verb(action, done: true)) after \(String(format: "%.2f", seconds)) s"
        case .failed(let address, let action, let error):
            running -= 1
            line = (color ? "\u{1B}[31m" : "") + "\(address): \(ProgressPrinter.verb(action, done: false)) failed: \(error)" + (color ? "\u{1B}[0m" : "")
        }
        if terminal { Console.out("\r\u{1B}[K") }
        if let line { Console.out(line + "\n") }
        if terminal { Console.out("[\(wave)] \(running) running, \(done) done") }
    }

    func finish() {
        lock.lock()
        if terminal { Console.out("\r\u{1B}[K") }
        lock.unlock()
    }

    static func verb(_ action: PlanAction, done: Bool) -> String {
        switch (action, done) {
        case (.create, false): "Creating"
        case (.create, true): "Created"
        case (.update, false): "Updating"
        case (.update, true): "Updated"
        case (.replace, false): "Replacing"
        case (.replace, true): "Replaced"
        case (.delete, false): "Destroying"
        case (.delete, true): "Destroyed"
        case (.noop, _): "Unchanged"
        }
    }
}
