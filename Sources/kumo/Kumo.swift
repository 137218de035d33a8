import ArgumentParser

@main
struct Kumo: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "kumo",
        abstract: "Plan, run and render serverless applications declared in YAML.",
        discussion: """
            Kumo reads manifests that declare functions, services, scaling policies and event
            rules. PATH is a YAML file or a directory whose *.yaml/*.yml files form one project
            (default: the current directory).
            """,
        version: version,
        subcommands: [Validate.self, Config.self, PlanCommand.self, Diff.self, Show.self, Apply.self, Destroy.self, Up.self, Down.self,
                      RuntimeCommand.self, Invoke.self, Status.self, Logs.self, Simulate.self, Calibrate.self, RenderCommand.self, StateCommand.self, EventsCommand.self, Schema.self]
    )
}
