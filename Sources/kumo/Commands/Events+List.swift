import ArgumentParser
import Foundation
import KumoApply
import KumoPlan

extension EventsCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show recent events on the runtime's bus: the rules each matched, and each delivery's status and attempts.")

        @OptionGroup var location: RuntimeLocation

        @Option(help: "Only events this rule matched (NAME, rule.NAME, or function.NAME#i for a schedule trigger).")
        var rule: String?

        @Option(help: "How many events, newest first.")
        var limit = 20

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let list = try await EventsCommand.ask(location, json: json) { try await $0.events(limit: limit, rule: rule) }
            if json { return }
            if list.events.isEmpty { return Console.out("no events\n") }
            for event in list.events {
                let kind = event.origin == "put" ? "" : " (\(event.origin))"
                let what = event.origin == "invoke" ? "asynchronous invocation" : "\(event.source) / \(event.detailType)"
                Console.out("\(event.receivedAt)  \(event.id)  \(what)\(kind)\n")
                if event.deliveries.isEmpty { Console.out("    matched no rule\n") }
                for d in event.deliveries { Console.out("    " + EventsCommand.describe(d) + "\n") }
            }
        }
    }

    /// `rule.big-order → service.api /hooks: delivered after 2 attempts`
    static func describe(_ d: ControlAPI.Events.Delivery) -> String {
        var text = "\(d.rule) → \(d.target)\(d.path.map { " " + $0 } ?? ""): \(d.status)"
        if d.attempts > 0 { text += ", \(d.attempts) attempt\(d.attempts == 1 ? "" : "s")" }
        if d.status == "retrying", let next = d.nextAttemptAt { text += ", next at \(next)" }
        if d.status != "delivered", let code = d.errorCode { text += " — \(code): \(d.errorMessage ?? "")" }
        return text
    }
}
