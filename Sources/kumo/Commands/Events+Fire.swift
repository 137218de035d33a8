import ArgumentParser
import Foundation
import KumoApply
import KumoPlan

extension EventsCommand {
    struct Fire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a schedule now: a rule's 'schedule', or every schedule trigger of a function (function.NAME).")

        @OptionGroup var location: RuntimeLocation

        @Argument(help: "The rule (NAME or rule.NAME) or function (function.NAME) whose schedule fires.")
        var rule: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let result = try await EventsCommand.ask(location, json: json) { try await $0.fire(rule) }
            if json { return }
            for id in result.eventIDs { Console.out(id + "\n") }
        }
    }
}
