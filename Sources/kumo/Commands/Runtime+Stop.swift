import ArgumentParser
import Foundation
import KumoPlan
import KumoApply
import KumoRuntime

extension Kumo.RuntimeCommand {
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the runtime and every process it started.")

        @OptionGroup var location: RuntimeLocation

        func run() async throws {
            let directory = location.absolute
            guard let info = RuntimeInfo.load(projectDirectory: directory) else {
                Console.out(RuntimeInfo.notRunning(projectDirectory: directory) + "\n")
                return
            }
            try await RuntimeClient(info: info).stop()
            Console.out("Runtime \(info.pid) stopped.\n")
        }
    }
}
