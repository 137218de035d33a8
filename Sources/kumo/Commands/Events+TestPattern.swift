import ArgumentParser
import Foundation
import KumoEvents
import KumoManifest

extension EventsCommand {
    struct TestPattern: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test-pattern",
            abstract: "Check whether an event matches an EventBridge event pattern.",
            discussion: """
                Prints true or false (exit status 0 either way); the event may be any JSON object,
                not only a full EventBridge envelope. --explain names the first field that failed.
                An invalid pattern or event is an error (exit status 1).
                """
        )

        @Option(help: ArgumentHelp("The event pattern: JSON text, or @FILE to read it from a file.", valueName: "JSON|@FILE"))
        var pattern: String

        @Option(help: ArgumentHelp("The event: JSON text, or @FILE to read it from a file.", valueName: "JSON|@FILE"))
        var event: String

        @Flag(help: "When the event does not match, say which field failed and why.")
        var explain = false

        @Flag(help: "Print {\"matches\": BOOL, \"mismatch\": {\"path\", \"expected\", \"actual\"} | null}.")
        var json = false

        func run() async throws {
            let patternText = try Self.read(pattern), eventText = try Self.read(event)
            let patternJSON: JSON, eventJSON: JSON
            do {
                patternJSON = try JSON.parse(patternText)
            } catch {
                throw fail("the pattern is not valid JSON: \(error)")
            }
            do {
                eventJSON = try JSON.parse(eventText)
            } catch {
                throw fail("the event is not valid JSON: \(error)")
            }
            let compiled: Pattern
            do {
                compiled = try Pattern(json: patternJSON)
            } catch {
                let hint = error.unknownOperator.map { Suggestion.suffix($0, in: error.knownOperators) } ?? ""
                throw fail("invalid pattern: \(error.description)\(hint)")
            }
            let mismatch = compiled.explain(eventJSON)
            if json {
                var pairs: [(key: String, value: JSON)] = [(key: "matches", value: .bool(mismatch == nil))]
                if let mismatch {
                    pairs.append((key: "mismatch", value: .object([
                        (key: "path", value: .string(mismatch.path)),
                        (key: "expected", value: .string(mismatch.expected)),
                        (key: "actual", value: mismatch.actual.map(JSON.string) ?? .null),
                    ])))
                } else {
                    pairs.append((key: "mismatch", value: .null))
                }
                Console.out(JSON.object(pairs).compactText + "\n")
            } else {
                Console.out(mismatch == nil ? "true\n" : "false\n")
                if explain, let mismatch { Console.out("\(mismatch)\n") }
            }
        }

        /// The text of an argument, or of the file it names with a leading `@`.
        static func read(_ argument: String) throws -> [UInt8] {
            guard argument.hasPrefix("@") else { return Array(argument.utf8) }
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw fail("cannot read '\(path)'")
            }
            return Array(data)
        }
    }
}
