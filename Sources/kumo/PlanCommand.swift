import ArgumentParser
import Foundation
import KumoManifest
import KumoApply
import KumoPlan
import KumoApply
import KumoRuntime
import KumoState

/// Options `plan` and `diff` share.
struct PlanningOptions: ParsableArguments {
    @Option(name: .customLong("target"), help: ArgumentHelp("Plan only this address (e.g. function.createOrder) and what it depends on; repeatable.", valueName: "ADDRESS"))
    var targets: [String] = []

    @Option(help: "Actions the executor runs at once in a wave; the rollout estimate uses it.")
    var parallelism = 10

    func validate() throws {
        guard parallelism >= 1 else { throw ValidationError("--parallelism must be at least 1") }
        for target in targets where ResourceKind.parse(address: target) == nil {
            throw ValidationError("--target takes an address KIND.NAME (function, service, scaling or rule), got '\(target)'")
        }
    }
}

extension Kumo {
    struct PlanCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show what apply would change, how long the rollout takes and what it costs.",
            discussion: """
                Compares the manifests with the state and prints one block per changed resource
                (+ create, ~ update in place, -/+ replace, - destroy) with the fields that change,
                then the summary, the rollout estimate per wave and the monthly cost before and after.
                Secrets are shown as (sensitive). --out saves the plan for 'kumo apply PLANFILE' and
                'kumo show PLANFILE'; a saved plan applies only to the state it was made against.
                Exit status: 0 success, 1 error; with --detailed-exitcode 0 no changes, 1 error, 2 changes.
                """
        )

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Print the plan as JSON (format_version \(Plan.formatVersion), documented in README).")
        var json = false

        @Option(help: ArgumentHelp("Save the plan to this file.", valueName: "FILE"))
        var out: String?

        @Flag(help: "Exit 2 when there are changes, 0 when there are none.")
        var detailedExitcode = false

        @Flag(help: "Compare the running runtime with the state first, show the drift, and plan to repair it.")
        var refresh = false

        func run() async throws {
            let result = try await runPlan(project: project, planning: planning, stateOptions: stateOptions, output: output, rollout: true, refresh: refresh)
            let plan = result.plan
            if json {
                Console.out(plan.jsonValue(kumoVersion: Kumo.version).json() + "\n")
            } else {
                Console.out(PlanRenderer(color: output.color(for: 1)).text(plan))
            }
            if let out {
                let saved = SavedPlan(plan: plan, desired: result.desired, statePath: result.statePath, projectDirectory: result.projectDirectory)
                do {
                    try writeAtomically(saved.jsonValue(kumoVersion: Kumo.version).json() + "\n", to: out, mode: 0o600)
                } catch {
                    throw fail("cannot save the plan: \(error)")
                }
                if !json { Console.out("\nSaved the plan to \(out). Apply exactly this plan with: kumo apply \(out)\n") }
            }
            Console.exit(code: detailedExitcode && plan.hasChanges ? 2 : 0)
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the manifests and the state differ (for CI).",
            discussion: """
                A plan without the rollout estimate. Exit status: 0 no changes, 1 error, 2 changes
                (as 'kumo plan --detailed-exitcode'). --format markdown prints a pull-request
                comment: a table of changes and the monthly cost change.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case text, markdown, json
        }

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Output format: text, markdown or json.")
        var format: Format = .text

        @Flag(help: "Accepted for symmetry with plan: diff always exits 2 on changes.")
        var detailedExitcode = false

        func run() async throws {
            let result = try await runPlan(project: project, planning: planning, stateOptions: stateOptions, output: output, rollout: false)
            let plan = result.plan
            switch format {
            case .text: Console.out(PlanRenderer(color: output.color(for: 1)).text(plan))
            case .markdown: Console.out(PlanRenderer(color: false).markdown(plan))
            case .json: Console.out(plan.jsonValue(kumoVersion: Kumo.version).json() + "\n")
            }
            Console.exit(code: plan.hasChanges ? 2 : 0)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a saved plan, and say whether it can still be applied.",
            discussion: """
                A saved plan applies only to the state it was made against (same lineage and
                serial). When the state has moved on, show says why the plan is stale and exits 1.
                """
        )

        @Argument(help: "A plan saved with 'kumo plan --out FILE'.")
        var file: String

        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Print the plan as JSON.")
        var json = false

        func run() async throws {
            let saved: SavedPlan
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                saved = try SavedPlan(json: text)
            } catch let error as PlanFormatError {
                throw fail("\(file): \(error)")
            } catch {
                throw fail("cannot read the plan '\(file)': \(error.localizedDescription)")
            }
            if json {
                Console.out(saved.plan.jsonValue(kumoVersion: Kumo.version).json() + "\n")
            } else {
                Console.out(PlanRenderer(color: output.color(for: 1)).text(saved.plan))
            }
            let statePath = stateOptions.state.map { StateLocation.resolve(explicit: $0, environment: [:], projectDirectory: ".") }
                ?? saved.statePath ?? StateLocation.resolve(explicit: nil, environment: ProcessInfo.processInfo.environment, projectDirectory: ".")
            let current: StateSnapshot
            do { current = try StateStore.open(path: statePath, create: false)?.snapshot() ?? .empty } catch {
                throw fail(error.description)
            }
            if let reason = saved.staleness(against: current) {
                Console.err("error: this saved plan is stale and cannot be applied: \(reason)\n")
                throw ExitCode.failure
            }
            if !json { Console.out("\nThis plan still matches the state at \(statePath) (serial \(current.serial)).\n") }
        }
    }
}

struct PlanRun {
    var plan: Plan
    var desired: DesiredState
    var statePath: String
    var projectDirectory: String
}

/// Loads the project, reports its diagnostics, and plans it against the state.
func runPlan(project: ProjectOptions, planning: PlanningOptions, stateOptions: StateOptions, output: OutputOptions, rollout: Bool, refresh: Bool = false) async throws -> PlanRun {
    let loaded = project.load()
    guard let resolved = loaded.project else {
        loaded.report(color: output.color(for: 2))
        throw ExitCode.failure
    }
    if !loaded.warnings.isEmpty { loaded.report(color: output.color(for: 2)) }
    let statePath = stateOptions.path(projectDirectory: resolved.directory)
    var options = Planner.Options(targets: planning.targets, parallelism: planning.parallelism, rollout: rollout, cost: true)
    if refresh {
        let current = (try? StateStore.open(path: statePath, create: false)?.snapshot()) ?? .empty
        options.drift = await Refresh.drift(projectDirectory: resolved.directory, state: current)
        Console.out(Refresh.describe(options.drift))
    }
    let planning = Planning(statePath: statePath, options: options)
    do {
        let result = try planning.plan(project: resolved, environment: ProcessInfo.processInfo.environment)
        return PlanRun(plan: result.plan, desired: result.desired, statePath: statePath, projectDirectory: resolved.directory)
    } catch let error as CustomStringConvertible & Error {
        throw fail(error.description)
    }
}

/// `kumo plan --refresh`: what the running runtime holds, against what the state records.
enum Refresh {
    static func drift(projectDirectory: String, state: StateSnapshot) async -> [String: String] {
        guard !state.resources.isEmpty else { return [:] }
        guard let info = RuntimeInfo.load(projectDirectory: projectDirectory), let status = try? await RuntimeClient(info: info).status() else {
            return Dictionary(uniqueKeysWithValues: state.resources.keys.map { ($0, "the runtime is not running") })
        }
        var live: [String: ControlAPI.Status.Resource] = [:]
        for item in status.resources { live[item.address] = item }
        var drift: [String: String] = [:]
        for (address, record) in state.resources where record.status == .applied {
            guard let item = live[address], item.state != "failed" else {
                drift[address] = "missing from the runtime"
                continue
            }
            if item.specHash != record.specHash {
                drift[address] = "the runtime runs another spec (\(Hashing.short(item.specHash)), state has \(Hashing.short(record.specHash)))"
            } else if item.codeHash != record.codeHash {
                drift[address] = "the runtime runs other code (\(item.codeHash.map(Hashing.short) ?? "none"), state has \(record.codeHash.map(Hashing.short) ?? "none"))"
            } else if let ready = item.detail["replicas_ready"]?.intValue, let total = item.detail["replicas"]?.intValue, ready < total {
                drift[address] = "\(ready) of \(total) replicas ready"
            }
        }
        return drift
    }

    static func describe(_ drift: [String: String]) -> String {
        guard !drift.isEmpty else { return "Refreshed: the runtime matches the state.\n\n" }
        var out = "Drift: the runtime differs from the state for \(drift.count) resource\(drift.count == 1 ? "" : "s"):\n"
        for address in drift.keys.sorted() { out += "  ! \(address): \(drift[address]!)\n" }
        return out + "\n"
    }
}
