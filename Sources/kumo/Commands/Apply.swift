import ArgumentParser
import Foundation
import KumoApply

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
            var flow = ApplyRun(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                 autoApprove: autoApprove, destroy: false)
            flow.refresh = refresh
            let ok = try await flow.run(planFile: planFile)
            Console.exit(failure: !ok)
        }
    }
}
