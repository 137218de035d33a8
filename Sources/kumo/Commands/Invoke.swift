import ArgumentParser
import Foundation
import KumoManifest
import KumoApply

extension Kumo {
    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoke a function through the runtime's Lambda Invoke API and print its result.",
            discussion: "Exit status 1 when the function fails (its error document goes to standard error).")

        @Argument(help: "The function name.")
        var name: String

        @Option(help: ArgumentHelp("The event: JSON, or @FILE to read it from a file (default {}).", valueName: "JSON|@FILE"))
        var data: String = "{}"

        @Option(help: "RequestResponse (wait for the result), Event (asynchronous) or DryRun.")
        var type = "RequestResponse"

        @OptionGroup var location: RuntimeLocation

        func run() async throws {
            var payload = data
            if data.hasPrefix("@") {
                payload = try readTextFile(String(data.dropFirst()))
            }
            guard (try? ConfigValue(json: payload)) != nil else { throw fail("--data is not valid JSON") }
            guard let invocationType = RuntimeClient.InvocationType(rawValue: type) else {
                throw fail("--type must be RequestResponse, Event or DryRun, got '\(type)'")
            }
            let client: RuntimeClient
            do { client = try RuntimeClient.connect(projectDirectory: location.absolute) } catch { throw fail("\(error)") }
            let invocation: RuntimeClient.Invocation
            do { invocation = try await client.invoke(name, payload: payload, type: invocationType) } catch { throw fail("\(error)") }
            switch invocation {
            case .functionError(let document):
                Console.err(document + "\n")
                throw ExitCode.failure
            case .result(let body):
                Console.out(body + "\n")
            case .queued(let requestID):
                Console.out("Queued (request id \(requestID)).\n")
            case .validated:
                Console.out("Dry run: the function exists and the request is valid.\n")
            case .refused(let type, let message):
                throw fail("\(type): \(message)")
            }
        }
    }
}
