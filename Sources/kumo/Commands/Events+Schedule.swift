import ArgumentParser
import Foundation
import KumoEvents
import KumoManifest

extension EventsCommand {
    struct ScheduleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedule",
            abstract: "Print the next fire times of a schedule expression, in UTC.",
            discussion: """
                Prints one ISO-8601 UTC time per line (2026-11-30T02:00:00Z), strictly after --from.
                A rate counts from its creation, taken to be --from. Fewer lines when the schedule's
                years end. Exit status: 0, or 1 for an invalid expression (the message names the field).
                """
        )

        @Argument(help: "A schedule expression: 'rate(5 minutes)' or 'cron(0 12 * * ? *)'.")
        var expression: String

        @Option(help: ArgumentHelp("Start after this time (default: now); a rate is created then.", valueName: "ISO-8601"))
        var from: String?

        @Option(help: "How many fire times to print.")
        var count = 5

        @Flag(help: "Print a JSON object: the expression and its fire times.")
        var json = false

        func validate() throws {
            guard (1...10_000).contains(count) else { throw ValidationError("--count takes a number from 1 to 10000, got \(count)") }
        }

        func run() async throws {
            let start = try from.map(EventsCommand.time) ?? Date()
            let schedule: Schedule
            do { schedule = try Schedule(parsing: expression) } catch {
                throw fail("invalid schedule '\(expression)': \(error.message)")
            }
            let fires = schedule.fires(after: start, created: start, count: count).map(Timestamp.iso8601)
            if json {
                Console.out(ConfigValue.object([("expression", .string(expression)), ("fires", .array(fires.map { .string($0) }))]).json() + "\n")
            } else {
                Console.out(fires.map { $0 + "\n" }.joined())
            }
            if fires.count < count {
                Console.err("The schedule fires \(fires.isEmpty ? "no more" : "only \(fires.count) more") time\(fires.count == 1 ? "" : "s") after \(Timestamp.iso8601(start)).\n")
            }
        }
    }

    /// `--from`, `--ingestion-time`: an ISO-8601 time, or a usage error.
    static func time(_ text: String) throws -> Date {
        guard let date = Timestamp.parse(text) else {
            throw ValidationError("expected an ISO-8601 time such as 2026-11-30T02:00:00Z, got '\(text)'")
        }
        return date
    }
}
