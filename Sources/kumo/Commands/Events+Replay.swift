import ArgumentParser
import Foundation
import KumoApply
import KumoPlan

extension EventsCommand {
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send archived events received in a time range through today's rules again.",
            discussion: "Each replayed event carries a \"replay-name\" field, as EventBridge's replays do. The archive keeps events for the runtime's --event-retention (default 24h).")

        @OptionGroup var location: RuntimeLocation

        @Option(help: ArgumentHelp("Start of the range (ISO-8601, e.g. 2026-11-30T12:00:00Z).", valueName: "ISO"))
        var from: String

        @Option(help: ArgumentHelp("End of the range, inclusive (ISO-8601).", valueName: "ISO"))
        var to: String

        @Option(help: "Only through this rule.")
        var rule: String?

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let result = try await EventsCommand.ask(location, json: json) { try await $0.replay(from: from, to: to, rule: rule) }
            if json { return }
            Console.out("replay \(result.replayName ?? ""): \(result.events) event\(result.events == 1 ? "" : "s") sent again, \(result.deliveries) deliver\(result.deliveries == 1 ? "y" : "ies")\n")
        }
    }
}
