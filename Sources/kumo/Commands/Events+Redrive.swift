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
            let result = try await EventsCommand.ask(location, json: json) { try await $0.redrive(rule: rule) }
            if json { return }
            Console.out("\(result.deliveries) dead letter\(result.deliveries == 1 ? "" : "s") back in line for delivery\n")
        }
    }
}
