import ArgumentParser
import Foundation
import KumoApply
import KumoPlan

extension Kumo {
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
}
