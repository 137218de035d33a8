import ArgumentParser
import Foundation

extension Kumo {
    struct StateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "Inspect and move the state: list, show, pull, push, unlock, migrate.",
            subcommands: [List.self, ShowResource.self, Pull.self, Push.self, Unlock.self, Migrate.self]
        )
    }
}
