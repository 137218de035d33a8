import ArgumentParser
import Foundation
import KumoPlan
import KumoApply
import KumoRuntime

extension Kumo {
    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy everything (no confirmation) and stop the runtime.")

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let flow = ApplyRun(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                 autoApprove: true, destroy: true)
            let directory = flow.projectDirectory()
            var ok = true
            if RuntimeInfo.load(projectDirectory: directory) != nil {
                ok = try await flow.run(planFile: nil)
            }
            if let info = RuntimeInfo.load(projectDirectory: directory) {
                try await RuntimeClient(info: info).stop()
                Console.out("Runtime \(info.pid) stopped.\n")
            }
            Console.exit(failure: !ok)
        }
    }
}
