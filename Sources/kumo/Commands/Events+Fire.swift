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
            let client = try RuntimeClient.connect(projectDirectory: location.absolute)
            let result: ControlAPI.Events.ActionResult
            do { result = try await client.fire(rule) } catch { throw fail("\(error)") }
            if json { return Console.out(ControlAPI.pretty(result) + "\n") }
            for id in result.eventIDs { Console.out(id + "\n") }
        }
    }
}
