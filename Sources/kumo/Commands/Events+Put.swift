import ArgumentParser
import Foundation
import KumoApply
import KumoEvents
import KumoManifest
import KumoPlan

extension EventsCommand {
    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put events on the runtime's bus, as PutEvents does; prints each event's id.",
            discussion: """
                Give one event with --source, --detail-type and --detail, or several with --entries: a JSON \
                array of PutEvents entries ({"Source", "DetailType", "Detail", "Resources", "Time"}; Detail as \
                JSON text or an object). Exit 1 when any entry was refused.
                """)

        @OptionGroup var location: RuntimeLocation

        @Option(help: "The event's source, e.g. shop.orders.")
        var source: String?

        @Option(help: "The event's detail-type, e.g. OrderPlaced.")
        var detailType: String?

        @Option(help: ArgumentHelp("The event's detail: a JSON object, or @FILE.", valueName: "JSON|@FILE"))
        var detail: String?

        @Option(name: .customLong("resource"), help: "A resource ARN the event concerns (repeatable).")
        var resources: [String] = []

        @Option(help: ArgumentHelp("A JSON array of PutEvents entries, or @FILE.", valueName: "JSON|@FILE"))
        var entries: String?

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            if entries == nil && (source == nil || detailType == nil || detail == nil) {
                throw ValidationError("give --source, --detail-type and --detail, or --entries")
            }
            if entries != nil && (source != nil || detailType != nil || detail != nil) {
                throw ValidationError("--entries replaces --source, --detail-type and --detail")
            }
        }

        func run() async throws {
            let request = ControlAPI.Events.PutRequest(entries: try readEntries())
            let response = try await EventsCommand.ask(location, json: json) { try await $0.putEvents(request) }
            if !json {
                for (i, entry) in response.entries.enumerated() {
                    if let id = entry.eventID {
                        Console.out(id + "\n")
                    } else {
                        Console.err("error: entry \(i + 1): \(entry.errorCode ?? "error"): \(entry.errorMessage ?? "")\n")
                    }
                }
            }
            if response.failedEntryCount > 0 { throw ExitCode.failure }
        }

        private func readEntries() throws -> [ControlAPI.Events.PutRequest.Entry] {
            guard let entries else {
                return [ControlAPI.Events.PutRequest.Entry(source: source, detailType: detailType, detail: try inlineOrFile(detail!, flag: "--detail"),
                                                           resources: resources.isEmpty ? nil : resources)]
            }
            let text = try inlineOrFile(entries, flag: "--entries")
            guard let value = try? ConfigValue(json: text) else { throw fail("--entries: not JSON") }
            guard let items = value.arrayValue ?? value["Entries"]?.arrayValue else {
                throw fail("--entries: expected a JSON array of entries (or {\"Entries\": [...]})")
            }
            guard (1...10).contains(items.count) else { throw fail("--entries: PutEvents takes 1 to 10 entries, got \(items.count)") }
            return items.map { item in
                let detail = item["Detail"].map { $0.stringValue ?? $0.compactJSON() }
                let time: String? = item["Time"].flatMap { $0.stringValue ?? $0.doubleValue.map { Timestamp.iso8601(Date(timeIntervalSince1970: $0)) } }
                return ControlAPI.Events.PutRequest.Entry(source: item["Source"]?.stringValue, detailType: item["DetailType"]?.stringValue, detail: detail,
                                                          resources: item["Resources"]?.arrayValue?.compactMap(\.stringValue), time: time)
            }
        }
    }
}

