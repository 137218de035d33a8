import ArgumentParser
import Foundation
import KumoRuntime

extension Kumo.RuntimeCommand {
    /// The runtime process itself; `start` runs it detached, `up` in the foreground.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the runtime in the foreground (used by 'runtime start').", shouldDisplay: false)

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var settings: RuntimeSettings

        @Option(help: "Gateway port on 127.0.0.1.")
        var gatewayPort = 3000

        func run() async throws {
            let directory = location.absolute
            let statePath = try stateOptions.path(projectDirectory: directory)
            try stateOptions.refuseEmptyFile(statePath)
            var options = Runtime.Options(projectDirectory: directory, statePath: statePath, gatewayPort: gatewayPort, version: Kumo.version,
                                          acceptEmptyStateFile: stateOptions.force)
            settings.apply(to: &options)
            let runtime = try Runtime(options: options)
            let signals = stopOnSignals(runtime)
            do {
                let info = try await runtime.start()
                print("runtime \(info.pid) serving \(directory): gateway 127.0.0.1:\(info.gatewayPort), control 127.0.0.1:\(info.controlPort)")
            } catch {
                Console.err("error: \(error)\n")
                await runtime.stop()
                throw ExitCode.failure
            }
            await runtime.waitUntilStopped()
            _ = signals
            print("runtime stopped")
        }
    }
}
