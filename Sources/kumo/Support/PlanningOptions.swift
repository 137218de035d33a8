import ArgumentParser
import Foundation
import KumoManifest
import KumoApply
import KumoPlan
import KumoState

/// Options `plan` and `diff` share.
struct PlanningOptions: ParsableArguments {
    @Option(name: .customLong("target"), help: ArgumentHelp("Plan only this address (e.g. function.createOrder) and what it depends on; repeatable.", valueName: "ADDRESS"))
    var targets: [String] = []

    // Unconditional, so that `--parallelism -3` is refused for its value, not as a missing one.
    @Option(parsing: .unconditional, help: "Actions the executor runs at once in a wave; the rollout estimate uses it.")
    var parallelism = 10

    @Flag(help: "Estimate with the manifest's or built-in coefficients, ignoring what 'kumo calibrate' fitted.")
    var uncalibrated = false

    /// One line and exit 1, like every other refusal (not usage text and exit 64).
    func validate() throws {
        guard parallelism >= 1 else { throw fail("--parallelism must be at least 1, got \(parallelism)") }
        for target in targets where ResourceKind.parse(address: target) == nil {
            throw fail("--target takes an address KIND.NAME (function, service, scaling or rule), got '\(target)'")
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
    let statePath = try stateOptions.path(projectDirectory: resolved.directory, project: resolved)
    try stateOptions.refuseEmptyFile(statePath)
    var options = Planner.Options(targets: planning.targets, parallelism: planning.parallelism, rollout: rollout, cost: true)
    if refresh {
        let current = (try? StateLocation(statePath).open(create: false, acceptEmptyFile: stateOptions.force)?.snapshot()) ?? .empty
        options.drift = await Refresh.drift(runtime: try? RuntimeClient.connect(projectDirectory: resolved.directory), state: current)
        Console.out(Refresh.describe(options.drift))
    }
    let planning = Planning(statePath: statePath, options: options, acceptEmptyStateFile: stateOptions.force, calibrated: !planning.uncalibrated)
    do {
        let result = try planning.plan(project: resolved, environment: ProcessInfo.processInfo.environment)
        return PlanRun(plan: result.plan, desired: result.desired, statePath: statePath, projectDirectory: resolved.directory)
    } catch let error as CustomStringConvertible & Error {
        throw fail(error.description)
    }
}
