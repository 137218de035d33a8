import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoRuntime
import KumoState

extension Kumo.RuntimeCommand {
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the runtime and every process it started.")

        @OptionGroup var location: RuntimeLocation

        func run() async throws {
            let directory = location.absolute
            guard let info = RuntimeInfo.load(projectDirectory: directory) else {
                Console.out("No runtime is running for \(directory).\n")
                return
            }
            try await RuntimeClient(info: info).stop()
            Console.out("Runtime \(info.pid) stopped.\n")
        }
    }
}
