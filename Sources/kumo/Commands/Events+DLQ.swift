import ArgumentParser
import Foundation
import KumoApply
import KumoPlan

extension EventsCommand {
    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dlq",
            abstract: "Show the dead-letter queue: deliveries that failed every retry, with the error, attempts and the body they carried.")

        @OptionGroup var location: RuntimeLocation

        @Option(help: "Only this rule's dead letters.")
        var rule: String?

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let dlq = try await EventsCommand.ask(location, json: json) { try await $0.deadLetters(rule: rule) }
            if json { return }
            if dlq.deliveries.isEmpty { return Console.out("the dead-letter queue is empty\n") }
            for d in dlq.deliveries {
                Console.out("\(d.lastAttemptAt ?? d.createdAt)  event \(d.eventID)\n    \(EventsCommand.describe(d))\n    body: \(d.input ?? "")\n")
            }
        }
    }
}
