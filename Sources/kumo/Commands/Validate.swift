import ArgumentParser
import KumoManifest
import Foundation

extension Kumo {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check manifests and report every problem at once.",
            discussion: """
                Prints each problem as FILE:LINE:COLUMN: error: MESSAGE, with the source line, a
                caret and the key path. Warnings do not fail validation. Exit status: 0 valid, 1 errors.
                """
        )

        @OptionGroup var project: ProjectOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Print diagnostics as a JSON list on standard output.")
        var json = false

        @Flag(help: "Print how long reading, parsing and validating took, on standard error.")
        var timings = false

        @Flag(help: "Treat unset ${secret:…} values as errors, as plan and apply do.")
        var requireSecrets = false

        func run() async throws {
            let clock = ContinuousClock()
            let started = clock.now
            var result = project.load(requireSecrets: requireSecrets)
            result.timings.append(("total in process", (clock.now - started).seconds))
            if json {
                Console.out(DiagnosticRenderer.json(result.diagnostics).json() + "\n")
            } else {
                result.report(color: output.color(for: 2))
                if let project = result.project {
                    let counts = "\(project.functions.count) functions, \(project.services.count) services, \(project.scaling.count) scaling policies, \(project.rules.count) rules"
                    Console.out("Project '\(project.name)' is valid (\(counts)).\n")
                }
            }
            if timings {
                let phases = result.timings.map { "\($0.phase) \(Int(($0.seconds * 1000).rounded())) ms" }
                Console.err("timings: " + phases.joined(separator: ", ") + "\n")
            }
            Console.exit(failure: result.hasErrors)
        }
    }
}
