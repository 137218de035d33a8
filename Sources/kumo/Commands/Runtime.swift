import ArgumentParser
import Foundation

extension Kumo {
    struct RuntimeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "runtime",
            abstract: "Start, stop and inspect the local runtime that runs functions and services.",
            discussion: """
                The runtime listens on 127.0.0.1 only: a control API that needs the bearer token in
                .kumo/runtime.json (mode 0600), and the gateway (port 3000 unless --gateway-port) for
                http triggers and the Lambda Invoke API. Its log is .kumo/runtime.log; each function's
                and service's output is in .kumo/logs/.
                """,
            subcommands: [Start.self, Stop.self, Status.self, Serve.self]
        )
    }
}
