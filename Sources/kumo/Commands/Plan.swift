import ArgumentParser
import Foundation
import KumoApply
import KumoPlan

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
}
