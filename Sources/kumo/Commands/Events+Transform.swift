import ArgumentParser
import Foundation
import KumoEvents
import KumoManifest

extension EventsCommand {
    struct Transform: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the body a rule target receives for an event.",
            discussion: """
                Without --input, --input-path or an input transformer, the target receives the event.
                Prints the body exactly (no newline added). Exit status: 0, or 1 when the transformer
                is invalid or cannot deliver the event (the reason on standard error).
                """
        )

        @Option(help: ArgumentHelp("The event, as JSON text or @FILE.", valueName: "JSON|@FILE"))
        var event: String

        @Option(help: ArgumentHelp("Deliver this JSON instead of the event (a target's 'input').", valueName: "JSON"))
        var input: String?

        @Option(name: .customLong("input-path"), help: ArgumentHelp("Deliver the part of the event at this JSONPath.", valueName: "PATH"))
        var inputPath: String?

        @Option(name: .customLong("input-paths-map"), help: ArgumentHelp("The transformer's placeholders: a JSON object of JSONPaths.", valueName: "JSON"))
        var inputPathsMap: String?

        @Option(name: .customLong("input-template"), help: ArgumentHelp("The transformer's template, with <placeholders>.", valueName: "TEXT"))
        var inputTemplate: String?

        @Option(name: .customLong("rule-name"), help: "The rule name for <aws.events.rule-name>.")
        var ruleName = "rule"

        @Option(name: .customLong("rule-arn"), help: "The rule ARN for <aws.events.rule-arn> (default: one for --rule-name).")
        var ruleARN: String?

        @Option(name: .customLong("ingestion-time"), help: ArgumentHelp("When the bus received the event (default: now).", valueName: "ISO-8601"))
        var ingestionTime: String?

        @Flag(help: "Print a JSON object with the body as a string.")
        var json = false

        func validate() throws {
            let given = [input != nil, inputPath != nil, inputPathsMap != nil || inputTemplate != nil].filter { $0 }.count
            guard given <= 1 else { throw ValidationError("use only one of --input, --input-path or --input-paths-map with --input-template") }
            if inputPathsMap != nil && inputTemplate == nil { throw ValidationError("--input-paths-map needs --input-template") }
        }

        func run() async throws {
            let transform = try self.transform()
            do { try transform.check() } catch { throw fail("invalid transformer: \(error.message)") }
            let context = InputTransform.Context(
                ruleName: ruleName,
                ruleARN: ruleARN ?? "arn:aws:events:us-east-1:000000000000:rule/\(ruleName)",
                ingestionTime: try ingestionTime.map(EventsCommand.time) ?? Date())
            let event = try parse(readEvent(), "--event")
            let body: [UInt8]
            do { body = try transform.apply(to: event, context: context) } catch {
                throw fail("the target cannot receive this event: \(error.message)")
            }
            let text = String(decoding: body, as: UTF8.self)
            Console.out(json ? ConfigValue.object([("body", .string(text))]).json() + "\n" : text)
        }

        func transform() throws -> InputTransform {
            if let input { return .constant(input) }
            if let inputPath { return .path(inputPath) }
            guard let inputTemplate else { return .event }
            var map: [String: String] = [:]
            if let inputPathsMap {
                guard case .object(let pairs) = try parse(inputPathsMap, "--input-paths-map") else {
                    throw fail("--input-paths-map takes a JSON object of JSONPaths, as in {\"id\": \"$.detail.id\"}")
                }
                for (name, value) in pairs {
                    guard case .string(let path) = value else { throw fail("--input-paths-map: '\(name)' must be a JSONPath string") }
                    map[name] = path
                }
            }
            return .template(pathsMap: map, template: inputTemplate)
        }

        func readEvent() throws -> String {
            guard event.hasPrefix("@") else { return event }
            let path = String(event.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the event file '\(path)'") }
            return String(decoding: data, as: UTF8.self)
        }

        func parse(_ text: String, _ option: String) throws -> JSON {
            do { return try JSON.parse(text) } catch { throw fail("\(option) is not JSON: \(error)") }
        }
    }
}
