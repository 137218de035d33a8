import ArgumentParser

extension Kumo {
    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the resolved project: files merged, variables and defaults applied.",
            discussion: """
                The output is itself a valid manifest. Secrets are never printed: they appear as
                their ${secret:NAME} reference. Fails with the diagnostics if the project is invalid.
                """
        )

        @OptionGroup var project: ProjectOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Print JSON instead of YAML.")
        var json = false

        func run() async throws {
            let result = project.load()
            guard let resolved = result.project else {
                result.report(color: output.color(for: 2))
                throw ExitCode.failure
            }
            if !result.warnings.isEmpty { result.report(color: output.color(for: 2)) }
            let value = resolved.configValue
            Console.out(json ? value.json() + "\n" : value.yaml())
        }
    }
}
