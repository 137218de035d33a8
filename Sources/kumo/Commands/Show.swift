import ArgumentParser
import Foundation
import KumoPlan
import KumoState

extension Kumo {
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
            let text = try readTextFile(file)
            let saved: SavedPlan
            do { saved = try SavedPlan(json: text) } catch { throw fail("\(file): \(error)") }
            let directory = saved.projectDirectory ?? "."
            let statePath = try stateOptions.file.explicit(projectDirectory: directory) ?? saved.statePath ?? stateOptions.path(projectDirectory: directory)
            try stateOptions.refuseEmptyFile(statePath)
            if json {
                Console.out(saved.plan.jsonValue(kumoVersion: Kumo.version).json() + "\n")
            } else {
                Console.out(PlanRenderer(color: output.color(for: 1)).text(saved.plan))
            }
            let current: StateSnapshot
            do { current = try StateLocation(statePath).open(create: false, acceptEmptyFile: stateOptions.force)?.snapshot() ?? .empty } catch {
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
