import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoRuntime

extension Kumo.RuntimeCommand {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the runtime runs, where, and what it serves.")

        @OptionGroup var location: RuntimeLocation

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let directory = location.absolute
            guard let info = RuntimeInfo.load(projectDirectory: directory) else {
                if json { Console.out("{\"running\": false}\n") } else { Console.out(RuntimeInfo.notRunning(projectDirectory: directory) + "\n") }
                throw ExitCode(3)
            }
            let status = try await RuntimeClient(info: info).status()
            if json {
                Console.out(ControlAPI.pretty(status) + "\n")
                return
            }
            Console.out("Runtime pid \(info.pid), started \(info.startedAt)\n  gateway      http://127.0.0.1:\(info.gatewayPort)\n  control API  127.0.0.1:\(info.controlPort)\n\(info.metricsPort.map { "  metrics      http://127.0.0.1:\($0)/metrics\n" } ?? "")  resources    \(status.resources.count)\n")
        }
    }
}
