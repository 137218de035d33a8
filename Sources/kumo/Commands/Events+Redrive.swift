import ArgumentParser
import Foundation
import KumoApply
import KumoPlan

extension EventsCommand {
    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver the dead-letter queue's events again, each with a fresh retry budget.")

        @OptionGroup var location: RuntimeLocation

        @Option(help: "Only this rule's dead letters.")
        var rule: String?

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let client = try RuntimeClient.connect(projectDirectory: location.absolute)
            let result: ControlAPI.Events.ActionResult
            do { result = try await client.redrive(rule: rule) } catch { throw fail("\(error)") }
            if json { return Console.out(ControlAPI.pretty(result) + "\n") }
            Console.out("\(result.deliveries) dead letter\(result.deliveries == 1 ? "" : "s") back in line for delivery\n")
        }
    }
}
