import ArgumentParser
import Foundation
import KumoApply

extension Kumo {
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
            let ok = try await ApplyRun(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                         autoApprove: autoApprove, destroy: true).run(planFile: nil)
            Console.exit(failure: !ok)
        }
    }
}
